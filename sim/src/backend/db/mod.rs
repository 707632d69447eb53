//! The simulator's one SQLite connection: opening (file or `:memory:`), pragmas, migrations, and the
//! `read`/`write` closures every handler goes through. `write` commits only when its closure returns `Ok`.
//!
//! One connection behind a mutex beats a pool here: SQLite serializes writers anyway, and the requests
//! are short.

pub mod schema;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, Transaction};

/// The simulator database. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Db")
    }
}

impl Db {
    /// Opens (creating if needed) a database file, or a throwaway one for `:memory:`, and migrates it.
    pub fn open(path: &str) -> rusqlite::Result<Db> {
        let mut conn = if path == ":memory:" {
            Connection::open_in_memory()?
        } else {
            if let Some(parent) = Path::new(path).parent()
                && !parent.as_os_str().is_empty()
            {
                let _ = std::fs::create_dir_all(parent);
            }
            let conn = Connection::open(path)?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            conn
        };
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        schema::migrate(&mut conn)?;
        Ok(Db { conn: Arc::new(Mutex::new(conn)) })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` on the connection for reads.
    pub fn read<T, E>(&self, f: impl FnOnce(&Connection) -> Result<T, E>) -> Result<T, E> {
        f(&self.lock())
    }

    /// Runs `f` inside a transaction, committing only if it returns `Ok`.
    pub fn write<T, E>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<rusqlite::Error>,
    {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
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
