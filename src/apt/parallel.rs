//! Work spread over threads in order-keeping chunks: reading .debs,
//! compressing index pieces, syncing files.

use super::AptError;

/// The number of threads CPU-bound work uses: one per core.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// `f` of every item, in order, computed on up to `threads` threads (each
/// takes one contiguous chunk); the first error wins. `panicked` names the
/// work in the error a panicking thread becomes.
pub fn map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    panicked: &'static str,
    f: impl Fn(&T) -> Result<R, AptError> + Sync,
) -> Result<Vec<R>, AptError> {
    let per = items.len().div_ceil(threads.max(1)).max(1);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(per)
            .map(|chunk| scope.spawn(move || chunk.iter().map(f).collect::<Result<Vec<R>, _>>()))
            .collect();
        let mut all = Vec::with_capacity(items.len());
        for handle in handles {
            all.extend(
                handle
                    .join()
                    .map_err(|_| AptError::BadIndex { reason: panicked })??,
            );
        }
        Ok(all)
    })
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    #[test]
    fn results_keep_the_order_of_the_items() {
        let items: Vec<u32> = (0..37).collect();
        for threads in [0, 1, 3, 8, 100] {
            let doubled = map(&items, threads, "x", |i| Ok(i * 2)).expect("maps");
            assert_eq!(doubled, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        }
        let empty: Vec<u32> = map(&[], 4, "x", |i: &u32| Ok(*i)).expect("maps");
        assert!(empty.is_empty());
        let err = map(&items, 4, "x", |i| {
            if *i == 20 {
                Err(AptError::BadIndex { reason: "twenty" })
            } else {
                Ok(*i)
            }
        })
        .expect_err("fails");
        assert_eq!(err.to_string(), "damaged package index: twenty");
    }
}
