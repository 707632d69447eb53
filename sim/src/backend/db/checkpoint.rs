//! WAL checkpoints off the request path: a file database runs with `wal_autocheckpoint = 0`, and this
//! thread, on its own connection, copies the WAL back into the database file every [`INTERVAL`]
//! (`PRAGMA wal_checkpoint(PASSIVE)`, which never blocks the request connection).
//!
//! A passive checkpoint cannot reset the WAL while writes keep arriving, so under sustained load the file
//! would keep growing; once it holds more than [`RESTART_FRAMES`] frames the thread runs a `RESTART`
//! checkpoint while holding the request connection's mutex (so no request is mid-transaction; the passive
//! checkpoint just before has already copied almost every frame), and the next write starts the WAL from
//! its beginning. `journal_size_limit` then truncates the file. When the last [`super::Db`] clone is
//! dropped the thread checkpoints everything (`TRUNCATE`) and ends.
//!
//! It owns no data: it only moves committed pages.

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Mutex, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

/// How often the WAL is checkpointed. It bounds what a power loss can take back (see `db/mod.rs`).
pub const INTERVAL: Duration = Duration::from_millis(200);
/// WAL frames (pages) beyond which a checkpoint also restarts the WAL: about 64 MB of 4 KiB pages.
pub const RESTART_FRAMES: i64 = 16_384;
/// The size the WAL file is truncated to after a restart, in bytes.
const JOURNAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// The running checkpoint thread; dropping it stops the thread after a final checkpoint.
#[derive(Debug)]
pub struct Checkpointer {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Opens a second connection to `path` and starts checkpointing on a thread.
    pub fn start(path: &str, requests: Weak<Mutex<Connection>>) -> rusqlite::Result<Checkpointer> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT)?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                // Nothing is ever sent: the channel only disconnects when the owner is dropped.
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
                    checkpoint(&conn, &requests);
                }
                if let Err(error) = run(&conn, "TRUNCATE") {
                    tracing::warn!(%error, "final WAL checkpoint failed");
                }
            })
            .map_err(|error| rusqlite::Error::ToSqlConversionFailure(Box::new(error)))?;
        Ok(Checkpointer { stop: Some(stop), thread: Some(thread) })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One round: a passive checkpoint, and a restart when the WAL has grown past [`RESTART_FRAMES`].
fn checkpoint(conn: &Connection, requests: &Weak<Mutex<Connection>>) {
    match run(conn, "PASSIVE") {
        Ok((_, log, _)) if log > RESTART_FRAMES => {
            let Some(requests) = requests.upgrade() else { return };
            let _idle = requests.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Err(error) = run(conn, "RESTART") {
                tracing::warn!(%error, "WAL restart checkpoint failed");
            }
        }
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "WAL checkpoint failed"),
    }
}

/// `PRAGMA wal_checkpoint(mode)`: (busy, frames in the WAL, frames checkpointed).
fn run(conn: &Connection, mode: &str) -> rusqlite::Result<(i64, i64, i64)> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| {
        Ok((row.get(0)?, row.get(1)?, row.get(2)?))
    })
}
