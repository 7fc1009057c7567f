//! Sharding: which of a list of arrays, clips or stems shard `I/N` takes
//! (`--shard I/N`), so a matrix of jobs covers every item exactly once.

/// `--shard I/N`: 1 ≤ I ≤ N.
pub fn parse_shard(s: &str) -> std::result::Result<(usize, usize), String> {
    let err = || format!("expected I/N with 1 ≤ I ≤ N, e.g. 2/4, got {s:?}");
    let (i, n) = s.split_once('/').ok_or_else(err)?;
    let i: usize = i.trim().parse().map_err(|_| err())?;
    let n: usize = n.trim().parse().map_err(|_| err())?;
    if i == 0 || n == 0 || i > n {
        return Err(err());
    }
    Ok((i, n))
}

/// The items of shard `i/n`: every n-th, starting at i−1, so sizes differ by at most 1.
pub fn shard_of<T: Clone>(items: &[T], shard: Option<(usize, usize)>) -> Vec<T> {
    match shard {
        None => items.to_vec(),
        Some((i, n)) => items
            .iter()
            .enumerate()
            .filter(|(k, _)| k % n == i - 1)
            .map(|(_, t)| t.clone())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_items() {
        let items: Vec<u32> = (0..10).collect();
        let mut all: Vec<u32> = (1..=3)
            .flat_map(|i| shard_of(&items, Some((i, 3))))
            .collect();
        all.sort();
        assert_eq!(all, items);
        assert_eq!(shard_of(&items, Some((2, 3))), vec![1, 4, 7]);
        assert!(parse_shard("0/3").is_err());
        assert!(parse_shard("4/3").is_err());
        assert_eq!(parse_shard("2/3"), Ok((2, 3)));
    }
}
