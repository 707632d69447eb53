//! The simulator's SQLite schema and its migrations: one SQL string per version, applied in order inside a
//! transaction, with `PRAGMA user_version` recording how far a database file has come.

use rusqlite::Connection;

/// The migrations, in order. Never edit a released one: add the next.
const MIGRATIONS: &[&str] = &[
    // 1: the access backend of the foundation.
    r#"
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value BLOB NOT NULL
    );
    CREATE TABLE partners (
        uuid               TEXT PRIMARY KEY,
        name               TEXT NOT NULL,
        client_id          TEXT NOT NULL UNIQUE,
        client_secret_hash BLOB NOT NULL,
        created_at         TEXT NOT NULL
    );
    CREATE TABLE buildings (
        seq              INTEGER PRIMARY KEY AUTOINCREMENT,
        uuid             TEXT NOT NULL UNIQUE,
        name             TEXT NOT NULL,
        timezone         TEXT NOT NULL,
        common_doorcodes INTEGER NOT NULL
    );
    CREATE TABLE doors (
        seq                INTEGER PRIMARY KEY AUTOINCREMENT,
        uuid               TEXT NOT NULL UNIQUE,
        building_uuid      TEXT NOT NULL REFERENCES buildings(uuid),
        name               TEXT NOT NULL,
        door_type          TEXT NOT NULL,
        accessibility_type TEXT NOT NULL,
        is_connected       INTEGER NOT NULL,
        doorcode_secret    BLOB NOT NULL,
        serial_number      TEXT UNIQUE,
        device_type        TEXT,
        battery_percentage INTEGER,
        battery_updated_at TEXT,
        lock_secret        BLOB
    );
    CREATE INDEX doors_building ON doors(building_uuid);
    CREATE TABLE keys (
        seq          INTEGER PRIMARY KEY AUTOINCREMENT,
        uuid         TEXT NOT NULL UNIQUE,
        name         TEXT NOT NULL,
        partner_uuid TEXT REFERENCES partners(uuid),
        enabled      INTEGER NOT NULL
    );
    CREATE TABLE key_doors (
        key_uuid  TEXT NOT NULL REFERENCES keys(uuid),
        door_uuid TEXT NOT NULL REFERENCES doors(uuid),
        PRIMARY KEY (key_uuid, door_uuid)
    );
    CREATE INDEX key_doors_door ON key_doors(door_uuid);
    CREATE TABLE users (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        uuid       TEXT NOT NULL UNIQUE,
        first_name TEXT NOT NULL,
        last_name  TEXT NOT NULL,
        email      TEXT UNIQUE,
        phone      TEXT,
        created_at TEXT NOT NULL
    );
    CREATE INDEX users_phone ON users(phone);
    -- granter_type: MANAGER (granter_uuid ''), PARTNER or USER.
    CREATE TABLE accesses (
        seq                  INTEGER PRIMARY KEY AUTOINCREMENT,
        user_uuid            TEXT NOT NULL REFERENCES users(uuid),
        door_uuid            TEXT NOT NULL REFERENCES doors(uuid),
        granter_type         TEXT NOT NULL,
        granter_uuid         TEXT NOT NULL,
        passcode_type        TEXT NOT NULL,
        role                 TEXT NOT NULL,
        shareable            INTEGER NOT NULL,
        start_time           TEXT NOT NULL,
        end_time             TEXT,
        doorcode             TEXT,
        doorcode_description TEXT NOT NULL,
        code_day             TEXT,
        code_slot            INTEGER,
        UNIQUE (user_uuid, door_uuid, granter_type, granter_uuid)
    );
    CREATE INDEX accesses_door ON accesses(door_uuid);
    CREATE INDEX accesses_granter ON accesses(granter_type, granter_uuid);
    CREATE TABLE daily_slots (
        door_uuid TEXT NOT NULL,
        kind      TEXT NOT NULL,
        day       TEXT NOT NULL,
        next_slot INTEGER NOT NULL,
        PRIMARY KEY (door_uuid, kind, day)
    );
    CREATE TABLE outbox (
        id        INTEGER PRIMARY KEY AUTOINCREMENT,
        channel   TEXT NOT NULL,
        recipient TEXT NOT NULL,
        kind      TEXT NOT NULL,
        subject   TEXT NOT NULL,
        content   TEXT NOT NULL,
        sent_at   TEXT NOT NULL
    );
    CREATE TABLE one_time_codes (
        email        TEXT PRIMARY KEY,
        partner_uuid TEXT NOT NULL,
        code_hash    BLOB NOT NULL,
        expires_at   TEXT NOT NULL,
        attempts     INTEGER NOT NULL
    );
    CREATE TABLE refresh_tokens (
        token_hash   BLOB PRIMARY KEY,
        user_uuid    TEXT NOT NULL,
        partner_uuid TEXT NOT NULL,
        expires_at   TEXT NOT NULL
    );
    CREATE TABLE idempotency (
        caller       TEXT NOT NULL,
        key          TEXT NOT NULL,
        request_hash BLOB NOT NULL,
        status       INTEGER,
        body         BLOB,
        created_at   TEXT NOT NULL,
        PRIMARY KEY (caller, key)
    );
    "#,
    // 2: stored idempotent responses are pruned by age.
    r#"
    CREATE INDEX idempotency_created ON idempotency(created_at);
    "#,
    // 3: the backend's side of the lock protocol, and the simulator's virtual locks.
    r#"
    -- What the backend knows of each activated lock (the door secret stays in doors).
    CREATE TABLE lock_provisioning (
        door_uuid       TEXT PRIMARY KEY REFERENCES doors(uuid),
        lock_public_key BLOB NOT NULL,
        log_key         BLOB NOT NULL,
        code_hash_key   BLOB NOT NULL,
        provisioned_at  TEXT NOT NULL
    );
    -- Every signed delta issued to a lock, in sequence.
    CREATE TABLE lock_deltas (
        door_uuid  TEXT NOT NULL REFERENCES doors(uuid),
        seq        INTEGER NOT NULL,
        bytes      BLOB NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (door_uuid, seq)
    );
    -- What the issued deltas told a lock, item by item ('access:<user>', 'code:<id hex>', 'zone', 'ack'),
    -- so the next delta carries only the difference.
    CREATE TABLE lock_sent (
        door_uuid TEXT NOT NULL REFERENCES doors(uuid),
        item      TEXT NOT NULL,
        value     BLOB NOT NULL,
        PRIMARY KEY (door_uuid, item)
    );
    -- Log entries uploaded by phones, each stored once.
    CREATE TABLE lock_log_entries (
        door_uuid   TEXT NOT NULL REFERENCES doors(uuid),
        seq         INTEGER NOT NULL,
        entry       BLOB NOT NULL,
        received_at TEXT NOT NULL,
        UNIQUE (door_uuid, seq)
    );
    -- The last ingested entry of each lock (what the next LogAck acknowledges).
    CREATE TABLE lock_log_heads (
        door_uuid TEXT PRIMARY KEY REFERENCES doors(uuid),
        last_seq  INTEGER NOT NULL,
        last_mac  BLOB NOT NULL
    );
    -- The simulator's virtual locks: one row each, the whole private state in one blob.
    CREATE TABLE virtual_locks (
        door_uuid  TEXT PRIMARY KEY REFERENCES doors(uuid),
        state      BLOB NOT NULL,
        updated_at TEXT NOT NULL
    );
    "#,
    // 4: the user-scoped API: the device keys users register for their phones.
    r#"
    CREATE TABLE devices (
        seq           INTEGER PRIMARY KEY AUTOINCREMENT,
        uuid          TEXT NOT NULL UNIQUE,
        user_uuid     TEXT NOT NULL REFERENCES users(uuid),
        public_key    TEXT NOT NULL,
        name          TEXT NOT NULL,
        registered_at TEXT NOT NULL,
        UNIQUE (user_uuid, public_key)
    );
    "#,
    // 5: the manager web page and the invited user's account: key versions (editing a key's doors), which
    // key a manager-granted access came from, the user's password hash (argon2id PHC string), and the
    // page's sign-in sessions.
    r#"
    ALTER TABLE keys ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE accesses ADD COLUMN key_uuid TEXT REFERENCES keys(uuid);
    CREATE INDEX accesses_key ON accesses(key_uuid);
    ALTER TABLE users ADD COLUMN password_hash TEXT;
    CREATE TABLE web_sessions (
        token_hash BLOB PRIMARY KEY,
        csrf_token TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    "#,
    // 6: the doorcode uniqueness check looks a code up by door (docs/performance.md); `IF NOT EXISTS`
    // because databases opened by an earlier build got this index outside the migrations.
    r#"
    CREATE INDEX IF NOT EXISTS accesses_door_doorcode ON accesses(door_uuid, doorcode);
    "#,
    // 7: `accesses_door` is a prefix of `accesses_door_doorcode`, which serves every lookup by door; the
    // redundant index cost three page writes per invite of three doors (docs/performance.md).
    r#"
    DROP INDEX IF EXISTS accesses_door;
    "#,
    // 8: most users have no phone and most accesses no key (only the manager's keyed grants have one), so
    // these indexes held a NULL entry per row, written on every invite without ever being looked up: they
    // now index only the rows that have a value (every lookup is `= ?`, which such a partial index serves).
    r#"
    DROP INDEX users_phone;
    CREATE INDEX users_phone ON users(phone) WHERE phone IS NOT NULL;
    DROP INDEX accesses_key;
    CREATE INDEX accesses_key ON accesses(key_uuid) WHERE key_uuid IS NOT NULL;
    "#,
    // 9: the doorcode uniqueness checks read an index kept in memory (`code_index.rs`): random codes put every
    // new entry of `accesses_door_doorcode` on a random page, a WAL frame each (docs/performance.md). The
    // lookups by door need only the door, whose entries are appended in access order.
    r#"
    CREATE INDEX accesses_door ON accesses(door_uuid);
    DROP INDEX accesses_door_doorcode;
    "#,
    // 10: partner events (`backend::events`): one row per event and partner, in the order recorded; the
    // feed's cursor is `seq` (AUTOINCREMENT, so a pruned number is never given out again).
    r#"
    CREATE TABLE events (
        seq          INTEGER PRIMARY KEY AUTOINCREMENT,
        id           TEXT NOT NULL UNIQUE,
        partner_uuid TEXT NOT NULL,
        event_type   TEXT NOT NULL,
        door_uuid    TEXT NOT NULL,
        occurred_at  TEXT NOT NULL,
        recorded_at  TEXT NOT NULL,
        data         TEXT NOT NULL
    );
    CREATE INDEX events_partner ON events(partner_uuid, seq);
    CREATE INDEX events_recorded ON events(recorded_at);
    "#,
    // 11: webhooks (`backend::events::endpoints`, `outbox`, `delivery`): the partners' endpoints, the durable
    // outbox of deliveries (one row per event and endpoint) and the log of attempts.
    r#"
    CREATE TABLE webhook_endpoints (
        seq                   INTEGER PRIMARY KEY AUTOINCREMENT,
        uuid                  TEXT NOT NULL UNIQUE,
        partner_uuid          TEXT NOT NULL,
        url                   TEXT NOT NULL,
        description           TEXT NOT NULL,
        types                 TEXT NOT NULL,
        secret                TEXT NOT NULL,
        previous_secret       TEXT,
        previous_secret_until TEXT,
        disabled_reason       TEXT,
        failing_since         TEXT,
        created_at            TEXT NOT NULL
    );
    CREATE INDEX webhook_endpoints_partner ON webhook_endpoints(partner_uuid);
    CREATE TABLE webhook_deliveries (
        seq             INTEGER PRIMARY KEY AUTOINCREMENT,
        endpoint_uuid   TEXT NOT NULL,
        event_seq       INTEGER NOT NULL,
        state           TEXT NOT NULL,
        attempts        INTEGER NOT NULL,
        next_attempt_at TEXT NOT NULL
    );
    CREATE INDEX webhook_deliveries_pending ON webhook_deliveries(endpoint_uuid, seq) WHERE state = 'PENDING';
    CREATE TABLE webhook_attempts (
        seq           INTEGER PRIMARY KEY AUTOINCREMENT,
        endpoint_uuid TEXT NOT NULL,
        event_seq     INTEGER NOT NULL,
        attempted_at  TEXT NOT NULL,
        status        INTEGER,
        error         TEXT,
        latency_ms    INTEGER NOT NULL,
        succeeded     INTEGER NOT NULL
    );
    CREATE INDEX webhook_attempts_endpoint ON webhook_attempts(endpoint_uuid, seq);
    "#,
];

/// The schema version a fully migrated database has.
pub const VERSION: usize = MIGRATIONS.len();

/// Brings a database up to [`VERSION`], applying each missing migration in its own transaction.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let current: u32 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (index + 1) as u32)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrating_twice_is_a_no_op() {
        let mut conn = Connection::open_in_memory().expect("open");
        migrate(&mut conn).expect("first");
        migrate(&mut conn).expect("second");
        let version: u32 = conn.query_row("PRAGMA user_version", [], |row| row.get(0)).expect("version");
        assert_eq!(version as usize, VERSION);
    }
}
