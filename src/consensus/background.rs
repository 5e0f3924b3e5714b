//! Work that must not compete with serving for the CPU.
//!
//! A snapshot at 100,000 objects is seconds of CPU (scan, catch-up, encode, write). On
//! equal terms with the HTTP workers it took one of a 2-core machine's cores in the
//! middle of a watch fan-out and queued every event behind it (p99 1,046 ms against
//! 60–95 ms without). Its thread runs at a lower priority instead, so it gets what the
//! workers leave. A busy machine may starve such a thread at any moment, so it holds
//! the apply lock only to note where the state machine stands (a few sled reads per
//! catch-up pass); the pass that reads records under the lock runs at normal priority.

/// The nice value background threads run at (0 is normal, 19 the lowest).
const NICE: i32 = 10;

/// Runs `work` on a thread of its own, named `name`, at a lower CPU priority, and
/// returns what it returned.
pub async fn run<T: Send + 'static>(
    name: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> std::io::Result<T> {
    let (answer, answered) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            lower_this_threads_priority();
            // The receiver is gone only if the caller stopped waiting.
            let _ = answer.send(work());
        })?;
    answered
        .await
        .map_err(|_| std::io::Error::other(format!("the {name} thread ended without an answer")))
}

#[cfg(target_os = "linux")]
fn lower_this_threads_priority() {
    // SAFETY: gettid has no preconditions. On Linux, setpriority with PRIO_PROCESS and a
    // thread id sets that one thread's nice value; it takes plain integers and touches
    // no memory of ours.
    let status = unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, NICE)
    };
    if status != 0 {
        tracing::debug!(error = %std::io::Error::last_os_error(), "a background thread kept its priority");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_this_threads_priority() {}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[tokio::test]
    async fn runs_the_work_at_a_lower_priority_and_returns_its_answer() {
        let nice = super::run("test-background", || {
            std::fs::read_to_string("/proc/thread-self/stat")
                .ok()
                .and_then(|stat| {
                    // Fields after the command's closing parenthesis; nice is the 19th field.
                    let rest = stat.rsplit_once(')')?.1.to_string();
                    rest.split_whitespace().nth(16)?.parse::<i32>().ok()
                })
        })
        .await
        .expect("answer");
        assert_eq!(nice, Some(super::NICE));
    }

    #[tokio::test]
    async fn a_panic_is_an_error_not_a_hang() {
        let answer = super::run("test-panic", || -> u8 { panic!("boom") }).await;
        assert!(answer.is_err());
    }
}
