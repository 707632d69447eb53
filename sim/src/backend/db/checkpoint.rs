//! WAL checkpoints off the request path: a file database runs with `wal_autocheckpoint = 0`, and this
//! thread, on its own connection, copies the WAL back into the database file every [`INTERVAL`]
//! (`PRAGMA wal_checkpoint(PASSIVE)`, which never blocks the request connection).
//!
//! Under sustained load the WAL never empties, and SQLite starts it again from its beginning only once
//! every frame has been copied back, so the file would keep growing. Once it holds more than
//! [`RESTART_FRAMES`] frames, this thread runs a second pass at once (copying what arrived during the
//! first, so little is left) and asks for a [`Restart`]: whoever holds the request connection next runs
//! a `RESTART` checkpoint on it — the group writer between two batches, `Db::write` after its commit, or,
//! if neither came by the next round (no writes), this thread itself under the connection's mutex. The
//! restart copies the frames written since the second pass and the next write starts the WAL from its
//! beginning. The file keeps its largest size (about [`RESTART_FRAMES`] pages and one round of writes),
//! overwritten in place, which is cheaper than growing it again. When the last [`super::Db`] clone is
//! dropped the thread checkpoints everything (`TRUNCATE`, which empties the file) and ends.
//!
//! Why the writer runs the restart: when this thread waited for the connection's mutex instead, the writer
//! re-took it between batches for seconds on end under load, the WAL grew past 1 GB meanwhile, and the
//! restart then held every request for the whole copy (docs/performance.md).
//!
//! It owns no data: it only moves committed pages.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

/// How often the WAL is checkpointed. It bounds what a power loss can take back (see `db/mod.rs`).
pub const INTERVAL: Duration = Duration::from_millis(200);
/// WAL frames (pages) beyond which the WAL is restarted: 256 MiB of 4 KiB pages. Each restart holds the
/// writer for the last copy and its two `fsync`s (40–65 ms on the bench machine), so it should be rare:
/// at 10,000 invites a second this is one restart every 2–3 s instead of two a second at 64 MiB.
pub const RESTART_FRAMES: i64 = 65_536;

/// A restart of the WAL the checkpoint thread asked for, run by the first to hold the request connection.
#[derive(Debug, Default)]
pub struct Restart {
    wanted: AtomicBool,
}

impl Restart {
    pub(super) fn request(&self) {
        self.wanted.store(true, Ordering::Release);
    }

    pub(super) fn is_wanted(&self) -> bool {
        self.wanted.load(Ordering::Acquire)
    }

    /// Runs the restart on `requests` if one is wanted; the caller holds the request connection, outside
    /// any transaction. A restart that could not finish is asked for again by the next round.
    pub fn run_if_wanted(&self, requests: &Connection) {
        if self.wanted.swap(false, Ordering::AcqRel) {
            match run(requests, "RESTART") {
                Ok((0, _, _)) => {}
                Ok(_) => tracing::debug!("WAL restart found the WAL busy; the next round asks again"),
                Err(error) => tracing::warn!(%error, "WAL restart checkpoint failed"),
            }
        }
    }
}

/// The running checkpoint thread; dropping it stops the thread after a final checkpoint.
#[derive(Debug)]
pub struct Checkpointer {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Opens a second connection to `path` and starts checkpointing on a thread; restarts are asked of
    /// the holders of `requests` through `restart`.
    pub fn start(
        path: &str,
        requests: Weak<Mutex<Connection>>,
        restart: Arc<Restart>,
    ) -> rusqlite::Result<Checkpointer> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                // Nothing is ever sent: the channel only disconnects when the owner is dropped.
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
                    checkpoint(&conn, &requests, &restart, RESTART_FRAMES);
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

/// One round: a passive checkpoint, and a restart asked for when the WAL has grown past `restart_frames`;
/// run here if the last round's request is still waiting (nobody wrote since).
fn checkpoint(conn: &Connection, requests: &Weak<Mutex<Connection>>, restart: &Restart, restart_frames: i64) {
    if restart.is_wanted() {
        let Some(requests) = requests.upgrade() else { return };
        let requests = requests.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        restart.run_if_wanted(&requests);
        return;
    }
    match run(conn, "PASSIVE") {
        Ok((_, log, _)) if log > restart_frames => {
            // What came during the first pass: the restart then has only the last moments to copy.
            if let Err(error) = run(conn, "PASSIVE") {
                tracing::warn!(%error, "WAL checkpoint failed");
            }
            restart.request();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::db::ScratchDir;

    /// A WAL database on a fresh file: the request connection (behind its mutex, as `Db` holds it) and the
    /// checkpointer's own connection.
    struct Files {
        requests: Arc<Mutex<Connection>>,
        checkpointer: Connection,
        _dir: ScratchDir,
    }

    impl Files {
        fn new() -> Files {
            let dir = ScratchDir::new();
            let path = dir.file("sim.sqlite");
            let requests = Connection::open(&path).expect("open");
            requests.pragma_update(None, "journal_mode", "WAL").expect("wal");
            requests.pragma_update(None, "wal_autocheckpoint", 0).expect("no auto checkpoint");
            requests.execute_batch("CREATE TABLE t (x BLOB)").expect("table");
            let checkpointer = Connection::open(&path).expect("open");
            Files { requests: Arc::new(Mutex::new(requests)), checkpointer, _dir: dir }
        }

        /// Commits `n` rows, one transaction each (a WAL frame or more each).
        fn write(&self, n: usize) {
            let requests = self.requests.lock().expect("lock");
            for _ in 0..n {
                requests.execute("INSERT INTO t (x) VALUES (randomblob(3000))", []).expect("insert");
            }
        }

        /// How many frames the WAL holds now.
        fn wal_frames(&self) -> i64 {
            run(&self.checkpointer, "PASSIVE").expect("checkpoint").1
        }
    }

    #[test]
    fn a_long_wal_is_restarted_by_the_next_writer_and_otherwise_by_the_checkpointer() {
        let files = Files::new();
        let restart = Restart::default();
        files.write(40);
        assert!(files.wal_frames() >= 40, "every commit wrote a frame");

        // Past the threshold: the round asks for a restart, and the writer runs it after its next commit,
        // copying what came after the round (without it, the WAL would go on growing from there).
        checkpoint(&files.checkpointer, &Arc::downgrade(&files.requests), &restart, 10);
        assert!(restart.is_wanted(), "a WAL past the threshold asks for a restart");
        files.write(10);
        restart.run_if_wanted(&files.requests.lock().expect("lock"));
        assert!(!restart.is_wanted());
        files.write(1);
        assert!(files.wal_frames() < 5, "the next write started the WAL from its beginning");

        // Asked for and not run by a writer: the next round runs it itself.
        files.write(40);
        checkpoint(&files.checkpointer, &Arc::downgrade(&files.requests), &restart, 10);
        assert!(restart.is_wanted());
        files.write(10);
        checkpoint(&files.checkpointer, &Arc::downgrade(&files.requests), &restart, 10);
        assert!(!restart.is_wanted(), "the checkpointer ran the waiting restart");
        files.write(1);
        assert!(files.wal_frames() < 5, "the next write started the WAL from its beginning");
    }

    #[test]
    fn below_the_threshold_no_restart_is_asked_for() {
        let files = Files::new();
        let restart = Restart::default();
        files.write(5);
        checkpoint(&files.checkpointer, &Arc::downgrade(&files.requests), &restart, 100);
        assert!(!restart.is_wanted());
    }
}
