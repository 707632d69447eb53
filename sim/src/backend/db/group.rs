//! Group commit: the write jobs queued for the connection while it was busy run together in one
//! transaction, each inside its own `SAVEPOINT`, so a job that fails rolls back alone; every job's answer
//! is handed back only after the `COMMIT`, so whoever answers 2xx answers a committed change (durability
//! as with [`super::Db::write`]).
//!
//! One thread (`sqlite-writer`) takes the jobs from a queue: it blocks for the first, takes every other
//! job already waiting (up to [`MAX_BATCH`]), locks the request connection (the same mutex every
//! `read`/`write` takes, so they keep running one at a time) and runs the batch. Under load the jobs that
//! arrive during one commit form the next batch; alone, a job is a batch of one. What a batch saves is
//! what every transaction pays once: SQLite's lock, the WAL header and the pages every invite touches
//! (table and index ends, `sqlite_sequence`), written and checksummed once per batch instead of once per
//! request.
//!
//! A job whose caller has gone (its future dropped, e.g. the client hung up) before the batch reaches it is
//! skipped: nothing of it is applied.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Mutex, Weak};

use rusqlite::{Connection, ffi};
use tokio::sync::oneshot;

/// The most jobs one transaction holds.
pub const MAX_BATCH: usize = 64;

/// How a batch ended, as each of its jobs learns it.
type Committed = Result<(), rusqlite::Error>;

/// A queued job: runs on the connection (inside its savepoint), or learns why it cannot run (the batch's
/// transaction failed first), and returns whether it succeeded and how to hand its answer over once the
/// batch's outcome is known. `None`: its caller is gone, nothing ran.
type Job = Box<dyn FnOnce(Result<&Connection, &rusqlite::Error>) -> Option<(bool, Deliver)> + Send>;
/// Hands a job's answer to its caller, given the batch's commit outcome.
type Deliver = Box<dyn FnOnce(&Committed) + Send>;

/// The queue of the writer thread; the thread ends when the last sender is dropped.
#[derive(Debug)]
pub struct Writer {
    queue: Sender<Job>,
}

impl Writer {
    /// Starts the writer thread on the request connection.
    pub fn start(conn: Weak<Mutex<Connection>>) -> std::io::Result<Writer> {
        let (queue, jobs) = mpsc::channel::<Job>();
        std::thread::Builder::new().name("sqlite-writer".into()).spawn(move || run(&conn, &jobs))?;
        Ok(Writer { queue })
    }

    /// Runs `f` in the next group transaction and returns its result once that transaction committed.
    ///
    /// `f`'s changes are kept only if it returns `Ok` and the commit succeeds; if the commit fails, an
    /// `Ok` becomes that error.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<rusqlite::Error> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel::<Result<T, E>>();
        let job: Job = Box::new(move |conn: Result<&Connection, &rusqlite::Error>| {
            if answer.is_closed() {
                return None;
            }
            let result = match conn {
                Ok(conn) => f(conn),
                Err(error) => Err(E::from(copy_error(error))),
            };
            let ok = result.is_ok();
            let deliver: Deliver = Box::new(move |committed: &Committed| {
                let result = match (result, committed) {
                    (Ok(_), Err(error)) => Err(E::from(copy_error(error))),
                    (result, _) => result,
                };
                let _ = answer.send(result);
            });
            Some((ok, deliver))
        });
        if self.queue.send(job).is_err() {
            return Err(E::from(failure("the database writer has stopped")));
        }
        answered.await.unwrap_or_else(|_| Err(E::from(failure("the database job panicked"))))
    }
}

/// The writer thread: one batch after the other until every [`Writer`] is dropped.
fn run(conn: &Weak<Mutex<Connection>>, jobs: &Receiver<Job>) {
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
        run_batch(&conn, batch);
    }
}

/// Runs one batch in one transaction and hands every answer over after the commit (or its failure).
fn run_batch(conn: &Connection, batch: Vec<Job>) {
    let mut delivers: Vec<Deliver> = Vec::with_capacity(batch.len());
    let mut jobs = batch.into_iter();
    let committed = (|| {
        execute(conn, "BEGIN IMMEDIATE")?;
        for job in jobs.by_ref() {
            if let Err(error) = run_job(conn, job, &mut delivers) {
                // The savepoint machinery itself failed: nothing of this batch can be trusted.
                let _ = execute(conn, "ROLLBACK");
                return Err(error);
            }
        }
        execute(conn, "COMMIT").inspect_err(|_| {
            let _ = execute(conn, "ROLLBACK");
        })
    })();
    if let Err(error) = &committed {
        // The jobs the failure kept from running answer with it too.
        delivers.extend(jobs.filter_map(|job| job(Err(error)).map(|(_, deliver)| deliver)));
    }
    for deliver in delivers {
        deliver(&committed);
    }
}

/// One job inside its savepoint: released if it succeeded, rolled back if it failed or panicked.
fn run_job(conn: &Connection, job: Job, delivers: &mut Vec<Deliver>) -> rusqlite::Result<()> {
    if let Err(error) = execute(conn, "SAVEPOINT job") {
        delivers.extend(job(Err(&error)).map(|(_, deliver)| deliver));
        return Err(error);
    }
    let ran = catch_unwind(AssertUnwindSafe(|| job(Ok(conn))));
    let keep = match ran {
        Ok(Some((ok, deliver))) => {
            delivers.push(deliver);
            ok
        }
        // Skipped, or panicked (its answer is dropped with it, so its caller gets an error).
        Ok(None) | Err(_) => false,
    };
    if !keep {
        execute(conn, "ROLLBACK TO job")?;
    }
    execute(conn, "RELEASE job")
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

    /// A job that stores `key` and then fails, panics or succeeds.
    fn store(
        key: &'static str,
        outcome: &'static str,
    ) -> impl FnOnce(&Connection) -> rusqlite::Result<&'static str> {
        move |conn| {
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
        let (a, failed, b, panicked, c) = tokio::join!(
            db.write_grouped(store("job a", "ok")),
            db.write_grouped(store("job failed", "fail")),
            db.write_grouped(store("job b", "ok")),
            db.write_grouped(store("job panicked", "panic")),
            db.write_grouped(store("job c", "ok")),
        );
        assert_eq!((a.ok(), b.ok(), c.ok()), (Some("job a"), Some("job b"), Some("job c")));
        assert!(matches!(failed, Err(rusqlite::Error::QueryReturnedNoRows)), "its own error: {failed:?}");
        let panicked = panicked.expect_err("a panicked job answers an error").to_string();
        assert!(panicked.contains("panicked"), "{panicked}");
        for key in ["job a", "job b", "job c"] {
            assert!(stored(&db, key), "{key} was committed");
        }
        assert!(!stored(&db, "job failed") && !stored(&db, "job panicked"), "failed jobs left nothing");
    }

    #[tokio::test]
    async fn a_job_reads_what_the_jobs_before_it_wrote() {
        let db = Db::open(":memory:").expect("open");
        db.write_grouped(store("first", "ok")).await.expect("first");
        let seen = db
            .write_grouped(|conn| {
                conn.query_row("SELECT COUNT(*) FROM meta WHERE key = 'first'", [], |row| {
                    row.get::<_, i64>(0)
                })
            })
            .await
            .expect("second");
        assert_eq!(seen, 1);
    }
}
