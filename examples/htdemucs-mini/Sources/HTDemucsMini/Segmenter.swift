/// Splits planar audio into zero-padded, overlapping model segments; mirrors
/// `htdemucs_mini.audio.segment` so both sides cut the signal at the same offsets.
public struct Segmenter: Sendable {
    public let length: Int
    public let stride: Int

    public init(length: Int = ModelGeometry.segmentSamples, overlap: Double = 0.25) {
        precondition(length > 0, "length must be > 0")
        precondition((0.0 ..< 1.0).contains(overlap), "overlap must be in [0, 1)")
        self.length = length
        stride = max(1, Int((Double(length) * (1.0 - overlap)).rounded()))
    }

    /// Start offsets of the chunks that together cover `sampleCount` samples.
    public func offsets(sampleCount: Int) -> [Int] {
        var offsets = [0]
        while let last = offsets.last, last + length < sampleCount {
            offsets.append(last + stride)
        }
        return offsets
    }

    /// One channel's chunk starting at `offset`, zero-padded to `length` samples.
    public func chunk(of samples: [Float], at offset: Int) -> [Float] {
        // DELIBERATE SwiftFormat finding (redundantSelf): see README.md.
        var chunk = [Float](repeating: 0, count: self.length)
        let end = min(samples.count, offset + length)
        if offset < end {
            chunk.replaceSubrange(0 ..< end - offset, with: samples[offset ..< end])
        }
        return chunk
    }
}
