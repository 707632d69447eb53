//! The client store's schema: one SQL string per version, applied in order, each inside a transaction, with
//! `PRAGMA user_version` recording how far a database file has come. Never edit a released migration: add
//! the next one (and its arm in [`migrate`]).

use rusqlite::Connection;

/// Version 1: the whole offline-first cache of the phone.
const V1: &str = r#"
    -- Small facts: the registered device (uuid, public key) and the signed-in user.
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    -- The user's locks as the backend listed them: one LockView (JSON) per door, in list order.
    CREATE TABLE locks (
        door_uuid  TEXT PRIMARY KEY,
        lock_id    BLOB NOT NULL,
        position   INTEGER NOT NULL,
        view_json  TEXT NOT NULL,
        fetched_at TEXT NOT NULL
    );
    -- The backend-signed BLE credential of this device per lock.
    CREATE TABLE credentials (
        door_uuid  TEXT PRIMARY KEY,
        credential BLOB NOT NULL,
        expires_at TEXT
    );
    -- The resumption ticket of the last visit per lock. `secret` is a shared key: on phones this file
    -- belongs in keystore-protected storage (Android: encrypted app storage keyed by the Keystore; iOS: a
    -- file protected with NSFileProtectionComplete).
    CREATE TABLE tickets (
        door_uuid  TEXT PRIMARY KEY,
        lock_id    BLOB NOT NULL,
        ticket_id  BLOB NOT NULL,
        expires_at INTEGER NOT NULL,
        secret     BLOB NOT NULL
    );
    -- What the phone last learned of each lock's sync state (from the lock's own report).
    CREATE TABLE lock_state (
        door_uuid        TEXT PRIMARY KEY,
        last_applied_seq INTEGER NOT NULL,
        battery_percent  INTEGER,
        synced_at        TEXT
    );
    -- Deltas fetched from the backend and not yet confirmed applied by the lock.
    CREATE TABLE pending_deltas (
        door_uuid TEXT NOT NULL,
        seq       INTEGER NOT NULL,
        delta     BLOB NOT NULL,
        PRIMARY KEY (door_uuid, seq)
    );
    -- Sealed log batches read from a lock (with the Hello that opens them) and not yet acknowledged as
    -- stored by the backend.
    CREATE TABLE log_uploads (
        id               INTEGER PRIMARY KEY AUTOINCREMENT,
        door_uuid        TEXT NOT NULL,
        hello            BLOB NOT NULL,
        last_applied_seq INTEGER NOT NULL,
        battery_percent  INTEGER NOT NULL,
        read_at          TEXT NOT NULL
    );
    CREATE TABLE log_batches (
        upload_id INTEGER NOT NULL REFERENCES log_uploads(id) ON DELETE CASCADE,
        idx       INTEGER NOT NULL,
        sealed    BLOB NOT NULL,
        PRIMARY KEY (upload_id, idx)
    );
"#;

/// Version 2: a log upload the backend refused (a 4xx: it will never be accepted as it is) is quarantined:
/// kept, with when and why, and skipped by the uploads so it never blocks the ones after it.
const V2: &str = r#"
    ALTER TABLE log_uploads ADD COLUMN refused_at TEXT;
    ALTER TABLE log_uploads ADD COLUMN refusal TEXT;
"#;

/// Version 1's SQL, for the test that migrates a version-1 file.
#[cfg(test)]
pub(super) fn tests_v1() -> &'static str {
    V1
}

/// The schema version this code writes.
pub const VERSION: u32 = 2;

/// Brings a database up to [`VERSION`], one transaction per version.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let current: u32 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    for from in current..VERSION {
        let tx = conn.transaction()?;
        upgrade_from(&tx, from)?;
        tx.pragma_update(None, "user_version", from + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// One step: from version `from` to `from + 1`.
fn upgrade_from(conn: &Connection, from: u32) -> rusqlite::Result<()> {
    match from {
        0 => conn.execute_batch(V1),
        1 => conn.execute_batch(V2),
        // A file written by a newer version: nothing to do here (`migrate` never gets past VERSION).
        _ => Ok(()),
    }
}
