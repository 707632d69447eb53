//! Group commit: the write jobs queued for the connection while it was busy run together in one
//! transaction, and every job's answer is handed back only after the `COMMIT`, so whoever answers 2xx
//! answers a committed change (durability as with [`super::Db::write`]). A job that fails rolls back alone.
//!
//! One thread (`sqlite-writer`) takes the jobs from a queue: it blocks for the first, takes every other
//! job already waiting (up to [`MAX_BATCH`]), locks the request connection (the same mutex every
//! `read`/`write` takes, so they keep running one at a time) and runs the batch. Under load the jobs that
//! arrive during one commit form the next batch; alone, a job is a batch of one. What a batch saves is
//! what every transaction pays once: SQLite's lock, the WAL header and the pages every invite touches
//! (table and index ends, `sqlite_sequence`), written and checksummed once per batch instead of once per
//! request.
//!
//! How a failing job rolls back alone, in two passes:
//! 1. The batch first runs without savepoints, which cost every job a copy of each page it touches (the
//!    statement journal, about an eighth of the writer's time). A job that fails **without having changed
//!    anything** (`total_changes` unchanged: the usual 4xx, found before any write) needs no undo, so the
//!    pass goes on.
//! 2. If a job fails after changing something, or panics, the whole transaction is rolled back (nothing
//!    was committed or answered yet) and the batch runs again from the start with a `SAVEPOINT` per job:
//!    a job that fails is rolled back to its savepoint, the others are kept. Jobs are `Fn`, so running one
//!    again is running it afresh; only the last run's result is answered.
//!
//! A job whose caller has gone (its future dropped, e.g. the client hung up) before the batch reaches it is
//! skipped: nothing of it is applied.
//!
//! The jobs of one run of a batch share a [`BatchMemo`]: what they read but no grouped job writes (the
//! invites' door visibility and partner name) is read once per run instead of once per job. Its keys are
//! types ([`MemoKey`]) that the callers define; this module knows no domain type.

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::Hash;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, Weak};

use rusqlite::{Connection, ffi};
use tokio::sync::oneshot;

use super::checkpoint::Restart;

/// The most jobs one transaction holds.
pub const MAX_BATCH: usize = 64;

/// How a batch ended, as each of its jobs learns it.
type Committed = Result<(), rusqlite::Error>;

/// Something the jobs of a batch may read once and share: a key type names what is read (its fields say
/// which one) and fixes the type of the value, so a key can never find a value of another type.
pub trait MemoKey: Hash + Eq + 'static {
    /// What is read under this key.
    type Value: Clone + 'static;
}

/// Values the jobs of one run of a batch read once and share, under typed keys ([`MemoKey`]).
/// A new, empty memo starts every run (and the second run of a batch), so nothing read outlives the
/// transaction it was read in. Only what no grouped job writes may go in: a job that changed it would leave
/// the later jobs of its batch a stale value.
#[derive(Default)]
pub struct BatchMemo {
    /// One map per key type: `HashMap<K, K::Value>`, behind its `TypeId`.
    values: RefCell<HashMap<TypeId, Box<dyn Any>>>,
}

impl BatchMemo {
    /// The value under `key`: read by `read` the first time in this run, a copy of it after that. A failed
    /// read is not kept.
    pub fn get_or_read<K: MemoKey, E>(
        &self,
        key: K,
        read: impl FnOnce() -> Result<K::Value, E>,
    ) -> Result<K::Value, E> {
        if let Some(value) = self.values_of(|values: &mut HashMap<K, K::Value>| values.get(&key).cloned()) {
            return Ok(value);
        }
        let value = read()?;
        self.values_of(|values: &mut HashMap<K, K::Value>| values.insert(key, value.clone()));
        Ok(value)
    }

    /// Runs `f` on the map of key type `K`, made empty the first time.
    fn values_of<K: MemoKey, R>(&self, f: impl FnOnce(&mut HashMap<K, K::Value>) -> R) -> R {
        let mut maps = self.values.borrow_mut();
        let map = maps.entry(TypeId::of::<K>()).or_insert_with(|| Box::new(HashMap::<K, K::Value>::new()));
        // The map under `TypeId::of::<K>()` is always a `HashMap<K, K::Value>` (only this function inserts);
        // were it not, the value would only be read again, not shared.
        match map.downcast_mut::<HashMap<K, K::Value>>() {
            Some(values) => f(values),
            None => f(&mut HashMap::new()),
        }
    }
}

/// A queued job, type-erased.
trait Job: Send {
    /// Runs the job on the connection, keeping its result (replacing an earlier run's) and returning
    /// whether it succeeded; `None` if its caller is gone, so nothing ran.
    fn run(&mut self, conn: &Connection, memo: &BatchMemo) -> Option<bool>;
    /// The last run panicked: its answer is an error.
    fn panicked(&mut self);
    /// Hands the kept result to the caller once the batch's outcome is known. If the batch's transaction
    /// failed, every job answers that failure (what it computed was rolled back with the rest).
    fn deliver(self: Box<Self>, committed: &Committed);
}

/// A job with its caller's answer channel and the result of its last run.
struct Pending<T, E, F> {
    f: F,
    answer: oneshot::Sender<Result<T, E>>,
    result: Option<Result<T, E>>,
}

impl<T, E, F> Job for Pending<T, E, F>
where
    F: Fn(&Connection, &BatchMemo) -> Result<T, E> + Send,
    T: Send,
    E: From<rusqlite::Error> + Send,
{
    fn run(&mut self, conn: &Connection, memo: &BatchMemo) -> Option<bool> {
        if self.answer.is_closed() {
            self.result = None;
            return None;
        }
        self.result = None;
        let result = (self.f)(conn, memo);
        let ok = result.is_ok();
        self.result = Some(result);
        Some(ok)
    }

    fn panicked(&mut self) {
        self.result = Some(Err(E::from(failure("the database job panicked"))));
    }

    fn deliver(self: Box<Self>, committed: &Committed) {
        let answer = match (self.result, committed) {
            (_, Err(error)) => Err(E::from(copy_error(error))),
            (Some(result), Ok(())) => result,
            // Skipped: its caller is gone.
            (None, Ok(())) => return,
        };
        let _ = self.answer.send(answer);
    }
}

/// The queue of the writer thread; the thread ends when the last sender is dropped.
#[derive(Debug)]
pub struct Writer {
    queue: Sender<Box<dyn Job>>,
}

impl Writer {
    /// Starts the writer thread on the request connection; between batches it runs the WAL restarts
    /// the checkpointer asks for (`checkpoint.rs`).
    pub fn start(conn: Weak<Mutex<Connection>>, restart: Arc<Restart>) -> std::io::Result<Writer> {
        let (queue, jobs) = mpsc::channel::<Box<dyn Job>>();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run(&conn, &jobs, &restart))?;
        Ok(Writer { queue })
    }

    /// Runs `f` in the next group transaction and returns its result once that transaction committed.
    ///
    /// `f`'s changes are kept only if it returns `Ok` and the commit succeeds; if the commit fails, an
    /// `Ok` becomes that error. `f` may run more than once (module docs): each run starts from the state
    /// before it, and only the last one's result is returned. It shares its batch's [`BatchMemo`].
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: Fn(&Connection, &BatchMemo) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<rusqlite::Error> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel::<Result<T, E>>();
        if self.queue.send(Box::new(Pending { f, answer, result: None })).is_err() {
            return Err(E::from(failure("the database writer has stopped")));
        }
        answered.await.unwrap_or_else(|_| Err(E::from(failure("the database writer has stopped"))))
    }
}

/// The writer thread: one batch after the other until every [`Writer`] is dropped.
fn run(conn: &Weak<Mutex<Connection>>, jobs: &Receiver<Box<dyn Job>>, restart: &Restart) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        // Dropping the jobs of a closed database drops their answers: their callers see an error.
        let Some(conn) = conn.upgrade() else { return };
        let conn = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let committed = run_batch(&conn, &mut batch);
        for job in batch {
            job.deliver(&committed);
        }
        restart.run_if_wanted(&conn);
    }
}

/// Runs one batch in one transaction (two passes, module docs) and returns how it ended; each job keeps
/// its own result.
fn run_batch(conn: &Connection, batch: &mut [Box<dyn Job>]) -> Committed {
    match optimistic(conn, batch) {
        Ok(true) => Ok(()),
        Ok(false) => {
            let _ = execute(conn, "ROLLBACK");
            with_savepoints(conn, batch)
        }
        Err(error) => {
            let _ = execute(conn, "ROLLBACK");
            Err(error)
        }
    }
}

/// The first pass: every job without savepoints, committed if none needs undoing. `Ok(false)`: one does
/// (the transaction is still open, for the caller to roll back).
fn optimistic(conn: &Connection, batch: &mut [Box<dyn Job>]) -> rusqlite::Result<bool> {
    execute(conn, "BEGIN IMMEDIATE")?;
    let memo = BatchMemo::default();
    for job in batch.iter_mut() {
        let before = conn.total_changes();
        match catch_unwind(AssertUnwindSafe(|| job.run(conn, &memo))) {
            Ok(None | Some(true)) => {}
            Ok(Some(false)) if conn.total_changes() == before => {}
            Ok(Some(false)) | Err(_) => return Ok(false),
        }
    }
    execute(conn, "COMMIT")?;
    Ok(true)
}

/// The second pass: every job again, each inside its own savepoint, rolled back to it if it fails or
/// panics.
fn with_savepoints(conn: &Connection, batch: &mut [Box<dyn Job>]) -> rusqlite::Result<()> {
    let committed = (|| {
        execute(conn, "BEGIN IMMEDIATE")?;
        let memo = BatchMemo::default();
        for job in batch.iter_mut() {
            execute(conn, "SAVEPOINT job")?;
            let keep = match catch_unwind(AssertUnwindSafe(|| job.run(conn, &memo))) {
                Ok(Some(ok)) => ok,
                Ok(None) => false,
                Err(_) => {
                    job.panicked();
                    false
                }
            };
            if !keep {
                execute(conn, "ROLLBACK TO job")?;
            }
            execute(conn, "RELEASE job")?;
        }
        execute(conn, "COMMIT")
    })();
    if committed.is_err() {
        let _ = execute(conn, "ROLLBACK");
    }
    committed
}

fn execute(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// An error of the same kind and message, for each job of a failed batch (rusqlite's errors are not `Clone`).
fn copy_error(error: &rusqlite::Error) -> rusqlite::Error {
    match error {
        rusqlite::Error::SqliteFailure(code, message) => {
            rusqlite::Error::SqliteFailure(*code, message.clone())
        }
        other => failure(&format!("the group transaction failed: {other}")),
    }
}

fn failure(message: &str) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(ffi::Error::new(ffi::SQLITE_ERROR), Some(message.to_owned()))
}

#[cfg(test)]
mod tests {
    use rusqlite::{Connection, OptionalExtension};

    use super::super::Db;
    use super::{BatchMemo, MemoKey};

    /// A job that stores `key` and then fails, panics or succeeds.
    fn store(
        key: &'static str,
        outcome: &'static str,
    ) -> impl Fn(&Connection, &BatchMemo) -> rusqlite::Result<&'static str> {
        move |conn, _| {
            conn.execute("INSERT INTO meta (key, value) VALUES (?1, x'00')", [key])?;
            match outcome {
                "fail" => Err(rusqlite::Error::QueryReturnedNoRows),
                "panic" => panic!("a job panicked on purpose"),
                _ => Ok(key),
            }
        }
    }

    fn stored(db: &Db, key: &str) -> bool {
        db.read(|conn| conn.query_row("SELECT 1 FROM meta WHERE key = ?1", [key], |_| Ok(())).optional())
            .expect("read")
            .is_some()
    }

    #[tokio::test]
    async fn a_failing_or_panicking_job_rolls_back_alone() {
        let db = Db::open(":memory:").expect("open");
        // Hold the connection while the jobs queue up, so that (most likely) they run as one batch.
        let holder = db.clone();
        let held = tokio::task::spawn_blocking(move || {
            holder.read(|_| {
                std::thread::sleep(std::time::Duration::from_millis(200));
                Ok::<_, rusqlite::Error>(())
            })
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let (filler, a, failed, b, panicked, c, clean) = tokio::join!(
            db.write_grouped(store("filler", "ok")),
            db.write_grouped(store("job a", "ok")),
            db.write_grouped(store("job failed", "fail")),
            db.write_grouped(store("job b", "ok")),
            db.write_grouped(store("job panicked", "panic")),
            db.write_grouped(store("job c", "ok")),
            db.write_grouped(|conn, _| {
                conn.query_row("SELECT 1 FROM meta WHERE key = 'nothing'", [], |row| row.get::<_, i64>(0))
            }),
        );
        held.await.expect("join").expect("read");
        assert_eq!(filler.ok(), Some("filler"));
        assert_eq!((a.ok(), b.ok(), c.ok()), (Some("job a"), Some("job b"), Some("job c")));
        assert!(matches!(failed, Err(rusqlite::Error::QueryReturnedNoRows)), "its own error: {failed:?}");
        let panicked = panicked.expect_err("a panicked job answers an error").to_string();
        assert!(panicked.contains("panicked"), "{panicked}");
        for key in ["job a", "job b", "job c"] {
            assert!(stored(&db, key), "{key} was committed");
        }
        assert!(!stored(&db, "job failed") && !stored(&db, "job panicked"), "failed jobs left nothing");
        assert!(matches!(clean, Err(rusqlite::Error::QueryReturnedNoRows)), "{clean:?}");
    }

    /// A count under a name.
    #[derive(Clone, Debug, Hash, PartialEq, Eq)]
    struct Count(&'static str);

    impl MemoKey for Count {
        type Value = i64;
    }

    /// Another key type with the same field: its values never mix with [`Count`]'s.
    #[derive(Clone, Debug, Hash, PartialEq, Eq)]
    struct Label(&'static str);

    impl MemoKey for Label {
        type Value = String;
    }

    #[test]
    fn a_memo_reads_each_key_once_and_keeps_errors_out() {
        let memo = BatchMemo::default();
        let reads = std::cell::Cell::new(0);
        let read = |value: i64| {
            reads.set(reads.get() + 1);
            Ok::<_, rusqlite::Error>(value)
        };
        assert_eq!(memo.get_or_read(Count("a"), || read(1)).expect("a"), 1);
        assert_eq!(memo.get_or_read(Count("a"), || read(2)).expect("a again"), 1, "the first read is kept");
        assert_eq!(memo.get_or_read(Count("b"), || read(3)).expect("b"), 3);
        assert_eq!(reads.get(), 2);
        let failed = memo.get_or_read(Count("c"), || Err(rusqlite::Error::QueryReturnedNoRows));
        assert!(failed.is_err());
        assert_eq!(memo.get_or_read(Count("c"), || read(4)).expect("c"), 4, "a failed read is not kept");
        let label = memo.get_or_read(Label("a"), || Ok::<_, rusqlite::Error>("a label".to_owned()));
        assert_eq!(label.expect("label"), "a label", "another key type with the same field is its own entry");
    }

    #[tokio::test]
    async fn each_batch_reads_its_memo_afresh() {
        let db = Db::open(":memory:").expect("open");
        let read_in = |key: &'static str| {
            move |conn: &Connection, memo: &BatchMemo| {
                memo.get_or_read(Count("count"), || {
                    conn.query_row("SELECT COUNT(*) FROM meta", [], |row| row.get::<_, i64>(0))
                })
                .and_then(|count| {
                    conn.execute("INSERT INTO meta (key, value) VALUES (?1, x'00')", [key])?;
                    Ok(count)
                })
            }
        };
        let first = db.write_grouped(read_in("one")).await.expect("first batch");
        let second = db.write_grouped(read_in("two")).await.expect("second batch");
        assert_eq!(second, first + 1, "the second batch saw the first one's row, not the first one's memo");
    }

    #[tokio::test]
    async fn a_job_reads_what_the_jobs_before_it_wrote() {
        let db = Db::open(":memory:").expect("open");
        db.write_grouped(store("first", "ok")).await.expect("first");
        let seen = db
            .write_grouped(|conn, _| {
                conn.query_row("SELECT COUNT(*) FROM meta WHERE key = 'first'", [], |row| {
                    row.get::<_, i64>(0)
                })
            })
            .await
            .expect("second");
        assert_eq!(seen, 1);
    }
}
