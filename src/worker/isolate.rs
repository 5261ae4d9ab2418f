//! Panic isolation: a panic while processing fails that job, not the worker.

use std::future::Future;

/// Runs `work` on a task of its own, so that a panic in it fails one job, not the worker.
/// Dropping the returned future (a worker cut short at shutdown) stops the work too.
pub async fn isolated<F>(work: F) -> Result<F::Output, String>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);
    impl<T> Drop for AbortOnDrop<T> {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    let mut task = AbortOnDrop(tokio::spawn(work));
    (&mut task.0)
        .await
        .map_err(|error| match error.try_into_panic() {
            Ok(panic) => panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".into()),
            Err(error) => error.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::isolated;

    #[tokio::test]
    async fn a_panic_in_isolated_work_comes_back_as_its_message() {
        assert_eq!(isolated(async { 7 }).await, Ok(7));
        let panicked = isolated(async {
            if true {
                panic!("ticket 42 broke the parser");
            }
        })
        .await;
        assert_eq!(panicked, Err("ticket 42 broke the parser".to_string()));
        let formatted = isolated(async {
            if true {
                panic!("ticket {} broke it", 43);
            }
        })
        .await;
        assert_eq!(formatted, Err("ticket 43 broke it".to_string()));
    }
}
