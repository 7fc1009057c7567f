//! Copying between a strided buffer and a C-order one, element by element of a fixed size.
//!
//! Core ML hands out `MLMultiArray` storage with its own strides (an array it creates may
//! pad a dimension for alignment; the strides it reports are in elements). The CoreML
//! backend (src/bin/stage_runner/coreml.rs, macOS only) copies its inputs into such storage
//! and its outputs out of it through these two functions, so the index arithmetic is tested
//! on every platform rather than only where Core ML runs.

/// The byte offset of every element, in logical C order, of an array with `shape` and
/// `strides` (in elements) whose elements are `size` bytes, checked against a buffer of
/// `len` bytes. An error names what does not fit.
fn offsets(
    shape: &[usize],
    strides: &[isize],
    size: usize,
    len: usize,
) -> Result<Vec<usize>, String> {
    if shape.len() != strides.len() {
        return Err(format!(
            "{} strides for {} dimensions",
            strides.len(),
            shape.len()
        ));
    }
    let count: usize = shape.iter().product();
    if count == 0 {
        return Ok(Vec::new());
    }
    let mut out = Vec::with_capacity(count);
    let mut index = vec![0usize; shape.len()];
    for _ in 0..count {
        let mut element: isize = 0;
        for (i, s) in index.iter().zip(strides) {
            let i = isize::try_from(*i).map_err(|_| "index too large".to_string())?;
            element = i
                .checked_mul(*s)
                .and_then(|v| element.checked_add(v))
                .ok_or("stride arithmetic overflows")?;
        }
        let byte = usize::try_from(element)
            .ok()
            .and_then(|e| e.checked_mul(size))
            .filter(|b| b + size <= len)
            .ok_or_else(|| {
                format!(
                    "element {index:?} lies outside the {len}-byte buffer (strides {strides:?})"
                )
            })?;
        out.push(byte);
        // Advance the C-order index: the last dimension fastest.
        for d in (0..shape.len()).rev() {
            index[d] += 1;
            if index[d] < shape[d] {
                break;
            }
            index[d] = 0;
        }
    }
    Ok(out)
}

/// True when `strides` are those of a C-order array of `shape` (dimensions of length 1 may
/// carry any stride).
fn contiguous(shape: &[usize], strides: &[isize]) -> bool {
    let mut expected: isize = 1;
    for (n, s) in shape.iter().zip(strides).rev() {
        if *n != 1 && *s != expected {
            return false;
        }
        expected = expected.saturating_mul(*n as isize);
    }
    shape.len() == strides.len()
}

/// The elements of a strided buffer `src`, in logical C order, as one contiguous buffer.
pub fn gather(
    src: &[u8],
    size: usize,
    shape: &[usize],
    strides: &[isize],
) -> Result<Vec<u8>, String> {
    let count: usize = shape.iter().product();
    if contiguous(shape, strides) {
        let bytes = count * size;
        return src.get(..bytes).map(<[u8]>::to_vec).ok_or_else(|| {
            format!(
                "{count} elements need {bytes} bytes; the buffer has {}",
                src.len()
            )
        });
    }
    let mut out = Vec::with_capacity(count * size);
    for at in offsets(shape, strides, size, src.len())? {
        out.extend_from_slice(&src[at..at + size]);
    }
    Ok(out)
}

/// Writes the C-order elements of `src` into the strided buffer `dst`.
pub fn scatter(
    src: &[u8],
    dst: &mut [u8],
    size: usize,
    shape: &[usize],
    strides: &[isize],
) -> Result<(), String> {
    let count: usize = shape.iter().product();
    if src.len() != count * size {
        return Err(format!(
            "{} bytes for {count} elements of {size} bytes",
            src.len()
        ));
    }
    if contiguous(shape, strides) {
        let len = dst.len();
        let target = dst.get_mut(..src.len()).ok_or_else(|| {
            format!(
                "{count} elements need {} bytes; the buffer has {len}",
                src.len()
            )
        })?;
        target.copy_from_slice(src);
        return Ok(());
    }
    for (element, at) in src
        .chunks_exact(size)
        .zip(offsets(shape, strides, size, dst.len())?)
    {
        dst[at..at + size].copy_from_slice(element);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(values: &[u16]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    #[test]
    fn a_padded_last_dimension_is_skipped_both_ways() {
        // 2 x 3 stored with rows padded to 4 elements (strides [4, 1]).
        let padded = bytes(&[1, 2, 3, 99, 4, 5, 6, 99]);
        let dense = gather(&padded, 2, &[2, 3], &[4, 1]).unwrap();
        assert_eq!(dense, bytes(&[1, 2, 3, 4, 5, 6]));
        let mut back = bytes(&[0; 8]);
        scatter(&dense, &mut back, 2, &[2, 3], &[4, 1]).unwrap();
        assert_eq!(back, bytes(&[1, 2, 3, 0, 4, 5, 6, 0]));
    }

    #[test]
    fn transposed_strides_read_in_logical_order() {
        // Column-major 2 x 3: element [i, j] at i + 2 j.
        let column_major = bytes(&[1, 4, 2, 5, 3, 6]);
        let dense = gather(&column_major, 2, &[2, 3], &[1, 2]).unwrap();
        assert_eq!(dense, bytes(&[1, 2, 3, 4, 5, 6]));
    }

    #[test]
    fn contiguous_arrays_are_copied_as_is_and_unit_dimensions_ignore_their_stride() {
        let dense = bytes(&[1, 2, 3, 4, 5, 6]);
        assert_eq!(gather(&dense, 2, &[1, 2, 3], &[77, 3, 1]).unwrap(), dense);
        assert!(contiguous(&[1, 2, 3], &[6, 3, 1]));
        assert!(!contiguous(&[2, 3], &[4, 1]));
    }

    #[test]
    fn a_buffer_too_small_for_the_strides_is_an_error_not_a_read_past_the_end() {
        let short = bytes(&[1, 2, 3, 4, 5, 6]);
        let err = gather(&short, 2, &[2, 3], &[4, 1]).unwrap_err();
        assert!(err.contains("outside the 12-byte buffer"), "{err}");
        let err = gather(&short, 2, &[2, 4], &[4, 1]).unwrap_err();
        assert!(err.contains("need 16 bytes"), "{err}");
        let mut dst = vec![0u8; 4];
        let err = scatter(&short, &mut dst, 2, &[2, 3], &[3, 1]).unwrap_err();
        assert!(err.contains("the buffer has 4"), "{err}");
        let err = gather(&short, 2, &[2, 3], &[-1, 1]).unwrap_err();
        assert!(err.contains("outside"), "{err}");
    }

    #[test]
    fn a_stride_count_that_does_not_match_the_shape_is_an_error() {
        let err = gather(&bytes(&[1, 2]), 2, &[2], &[1, 1]).unwrap_err();
        assert!(err.contains("2 strides for 1 dimensions"), "{err}");
    }
}
