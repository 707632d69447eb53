//! The simulator's one SQLite connection: opening (file or `:memory:`), pragmas, migrations, and the
//! `read`/`write` closures every handler goes through. `write` commits only when its closure returns `Ok`.
//!
//! One connection behind a mutex beats a pool here: SQLite serializes writers anyway, and the requests
//! are short. What keeps the time under the mutex short (docs/performance.md):
//! - every hot statement is prepared once (`prepare_cached`; the cache holds [`STATEMENT_CACHE`]);
//! - a file database checkpoints its WAL on a background thread with its own connection
//!   ([`checkpoint`]), never inside a request's commit (`wal_autocheckpoint = 0`); the rare WAL restart
//!   runs between two commits;
//! - the hot writes (invites) commit in groups: `write_grouped` runs the writes queued meanwhile in one
//!   transaction on a writer thread and answers each after the commit ([`group`]);
//! - the doorcode uniqueness checks read an index kept in memory ([`code_index`]), so random codes write
//!   no random index pages.
//!
//! Durability: a file database runs WAL with `synchronous = NORMAL`. A committed request survives a crash
//! of the simulator's process (the WAL is written before the response is sent) but not necessarily a power
//! loss or OS crash: the WAL is fsynced at each checkpoint, so the last commits before a power loss (at most
//! the checkpoint interval's worth) may be rolled back — never half-applied. That is the right trade for
//! a simulator; a production backend would run `synchronous = FULL`.

pub mod checkpoint;
pub mod code_index;
pub mod group;
pub mod schema;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::config::DbConfig;
use rusqlite::{Connection, Transaction};

/// How many prepared statements the connection keeps.
pub const STATEMENT_CACHE: usize = 256;

/// The simulator database. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
    /// A WAL restart the checkpointer asked for, run by `write` and the group writer after a commit.
    restart: Arc<checkpoint::Restart>,
    /// The group-commit writer ([`Db::write_grouped`]); its thread ends when the last clone is dropped.
    writer: Arc<group::Writer>,
    /// The background checkpointer of a file database; it stops when the last clone is dropped.
    _checkpointer: Option<Arc<checkpoint::Checkpointer>>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Db")
    }
}

impl Db {
    /// Opens (creating if needed) a database file, or a throwaway one for `:memory:`, and migrates it.
    pub fn open(path: &str) -> rusqlite::Result<Db> {
        let (mut conn, file) = if path == ":memory:" {
            (Connection::open_in_memory()?, false)
        } else {
            if let Some(parent) = Path::new(path).parent()
                && !parent.as_os_str().is_empty()
            {
                let _ = std::fs::create_dir_all(parent);
            }
            let conn = Connection::open(path)?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            // Checkpoints run on the background thread (checkpoint.rs), not inside a request's commit.
            conn.pragma_update(None, "wal_autocheckpoint", 0)?;
            (conn, true)
        };
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Temporary data in memory, above all the statement journal of each group-commit job's savepoint
        // (`group.rs`): on a file it cost a `pwrite` of every page a job first touched.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        // The query planner's stability guarantee: a cached statement keeps its plan whatever values are
        // bound. Without it SQLite re-prepares a statement with a join each time a parameter changes
        // (it compares bound values while planning), which made `prepare_cached` pointless for half of the
        // hot queries (docs/performance.md). The simulator has no statistics that a value could exploit.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        schema::migrate(&mut conn)?;
        code_index::install(&conn)?;
        let conn = Arc::new(Mutex::new(conn));
        let restart = Arc::new(checkpoint::Restart::default());
        let writer = group::Writer::start(Arc::downgrade(&conn), restart.clone())
            .map_err(|error| rusqlite::Error::ToSqlConversionFailure(Box::new(error)))?;
        let checkpointer = if file {
            Some(Arc::new(checkpoint::Checkpointer::start(path, Arc::downgrade(&conn), restart.clone())?))
        } else {
            None
        };
        Ok(Db { conn, restart, writer: Arc::new(writer), _checkpointer: checkpointer })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` on the connection for reads.
    pub fn read<T, E>(&self, f: impl FnOnce(&Connection) -> Result<T, E>) -> Result<T, E> {
        f(&self.lock())
    }

    /// Runs `f` inside a transaction, committing only if it returns `Ok`.
    ///
    /// The transaction is `IMMEDIATE`: it takes SQLite's write lock first (waiting out the checkpointer's
    /// rare WAL restart), so it can never fail half-way because its read snapshot went stale.
    pub fn write<T, E>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<rusqlite::Error>,
    {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let value = f(&tx)?;
        tx.commit()?;
        self.restart.run_if_wanted(&conn);
        Ok(value)
    }

    /// Runs `f` in a transaction shared with the other writes queued meanwhile (group commit, [`group`]):
    /// its changes are kept only if it returns `Ok`, whatever the others do, and the result comes back only
    /// once they are committed. For the hot write paths; `f` must own its data, and may run more than once
    /// (each time from the state before it; only the last run counts), so it must not act outside the
    /// database. It runs while the connection is locked, so it must not call this `Db` itself. What it reads
    /// through the batch's [`group::BatchMemo`] is read once for all the jobs of the batch.
    pub async fn write_grouped<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: Fn(&Connection, &group::BatchMemo) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<rusqlite::Error> + Send + 'static,
    {
        self.writer.write(f).await
    }
}

/// An instant as stored: RFC 3339 in UTC with milliseconds, so text order is time order.
pub fn ts(instant: chrono::DateTime<chrono::Utc>) -> String {
    instant.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Reads an instant stored by [`ts`] from column `index` of a row.
pub fn get_ts(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<chrono::DateTime<chrono::Utc>> {
    let text: String = row.get(index)?;
    parse_ts(&text).map_err(|error| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(error))
    })
}

/// Reads an optional instant stored by [`ts`] from column `index` of a row.
pub fn get_opt_ts(
    row: &rusqlite::Row<'_>,
    index: usize,
) -> rusqlite::Result<Option<chrono::DateTime<chrono::Utc>>> {
    let text: Option<String> = row.get(index)?;
    text.map(|text| {
        parse_ts(&text).map_err(|error| {
            rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(error))
        })
    })
    .transpose()
}

fn parse_ts(text: &str) -> Result<chrono::DateTime<chrono::Utc>, chrono::ParseError> {
    chrono::DateTime::parse_from_rfc3339(text).map(|instant| instant.to_utc())
}

/// Reads a wire enum stored as text from column `index`.
pub fn get_enum<T>(
    row: &rusqlite::Row<'_>,
    index: usize,
    parse: fn(&str) -> Option<T>,
) -> rusqlite::Result<T> {
    let text: String = row.get(index)?;
    parse(&text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            rusqlite::types::Type::Text,
            format!("unknown value {text:?}").into(),
        )
    })
}

/// A fresh directory for a test's database files, removed with everything in it when dropped.
#[cfg(test)]
pub(crate) struct ScratchDir(std::path::PathBuf);

#[cfg(test)]
impl ScratchDir {
    pub(crate) fn new() -> ScratchDir {
        let dir = std::env::temp_dir().join(format!("latchkey-sim-db-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("scratch directory");
        ScratchDir(dir)
    }

    /// The path of `name` inside it.
    pub(crate) fn file(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }
}

#[cfg(test)]
impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::StatementStatus;

    /// A join with a bound parameter, as the hot queries have (`directory::visible_door`).
    const JOIN: &str = "SELECT d.uuid FROM doors d JOIN buildings b ON b.uuid = d.building_uuid
         WHERE d.uuid = ?2 AND EXISTS (SELECT 1 FROM key_doors kd JOIN keys k ON k.uuid = kd.key_uuid
                                       WHERE kd.door_uuid = d.uuid AND k.partner_uuid = ?1)";

    #[test]
    fn cached_statements_with_joins_are_not_prepared_again_for_new_values() {
        let db = Db::open(":memory:").expect("open");
        let reprepared = db
            .read(|conn| {
                for round in 0..5 {
                    let mut statement = conn.prepare_cached(JOIN)?;
                    let mut rows = statement.query([format!("partner {round}"), format!("door {round}")])?;
                    while rows.next()?.is_some() {}
                }
                let statement = conn.prepare_cached(JOIN)?;
                Ok::<_, rusqlite::Error>(statement.get_status(StatementStatus::RePrepare))
            })
            .expect("query");
        assert_eq!(reprepared, 0, "each new value re-prepared the statement");
    }

    /// Runs a statement in the next group transaction.
    async fn grouped(db: &Db, sql: &'static str) {
        db.write_grouped(move |conn, _| conn.execute(sql, [])).await.expect("grouped write");
    }

    #[tokio::test]
    async fn a_waiting_wal_restart_is_run_by_the_next_write_grouped_or_plain() {
        let dir = ScratchDir::new();
        let db = Db::open(&dir.file("sim.sqlite")).expect("open");
        // All within a few milliseconds: the checkpoint thread's first round comes after 200 ms.
        db.restart.request();
        grouped(&db, "INSERT INTO meta (key, value) VALUES ('a', x'00')").await;
        // The writer runs the restart after answering, still holding the connection: once the next reader
        // has it, the restart is done.
        db.read(|_| Ok::<_, rusqlite::Error>(())).expect("read");
        assert!(!db.restart.is_wanted(), "the group writer ran the restart");

        db.restart.request();
        db.write(|tx| tx.execute("INSERT INTO meta (key, value) VALUES ('b', x'00')", [])).expect("write");
        assert!(!db.restart.is_wanted(), "a plain write ran the restart after its commit");
    }
}
