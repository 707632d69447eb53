//! The tokio runtime the bindings own: one multi-thread runtime for the whole process, created on first
//! use, on which every async export and every background task of the core runs.
//!
//! Why own it: UniFFI drives an exported future from the foreign executor (Kotlin coroutines, Swift
//! tasks), whose threads have no tokio reactor, and the core's network, timers and `tokio::spawn` need
//! one. So each async export hands its work to this runtime with [`run`] and awaits the result; sync
//! exports that start background work enter it with [`enter`]. Nothing here decides anything about the
//! domain.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Builder, Handle, Runtime};
use tokio::task::JoinHandle;

use crate::error::LatchkeyError;

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// Worker threads: a phone needs few (the work is I/O), and fewer threads mean less memory.
const WORKER_THREADS: usize = 2;

/// The runtime's handle, creating the runtime on first use.
pub(crate) fn handle() -> Handle {
    RUNTIME
        .get_or_init(|| {
            Builder::new_multi_thread()
                .worker_threads(WORKER_THREADS)
                .thread_name("latchkey-rt")
                .enable_all()
                .build()
                // Only fails when the OS refuses threads or an epoll/kqueue instance: nothing works then.
                .unwrap_or_else(|error| panic!("latchkey: could not start the tokio runtime: {error}"))
        })
        .handle()
        .clone()
}

/// Enters the runtime for the rest of the scope (sync exports that spawn background tasks).
pub(crate) fn enter() -> tokio::runtime::EnterGuard<'static> {
    // The runtime is never dropped (it lives in a static), so the guard may be 'static.
    handle();
    match RUNTIME.get() {
        Some(runtime) => runtime.enter(),
        None => unreachable!("handle() initialised the runtime"),
    }
}

/// Aborts the task when dropped: a caller that cancels (a Kotlin coroutine canceled, a Swift task
/// canceled) cancels the Rust work too, so an unlock dropped midway reports `Canceled`.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs `work` on the runtime and waits for its result. A panic in `work` becomes
/// [`LatchkeyError::Internal`].
pub(crate) async fn run<T, F>(work: F) -> Result<T, LatchkeyError>
where
    F: Future<Output = Result<T, LatchkeyError>> + Send + 'static,
    T: Send + 'static,
{
    let mut task = AbortOnDrop(handle().spawn(work));
    match (&mut task.0).await {
        Ok(result) => result,
        Err(error) if error.is_panic() => Err(LatchkeyError::Internal {
            detail: "the SDK hit an internal error (a panic); please report it with the logs".into(),
        }),
        Err(_) => Err(LatchkeyError::Internal { detail: "the operation was canceled".into() }),
    }
}
