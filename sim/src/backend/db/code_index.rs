//! The doorcode index, kept in memory: which access holds which doorcode at which door, for the
//! uniqueness checks of `doorcodes` (a code names one user at a door).
//!
//! It is a `TEMP` table of the request connection (`temp_store = MEMORY`), filled from `accesses` when the
//! database opens and kept exact by `TEMP` triggers on `accesses`. Being SQLite's own table, it commits
//! and rolls back with whatever changed the access, savepoints included, so it never disagrees with the
//! file. Only the request connection writes the database, and every write goes through it.
//!
//! Why not an index in the file: doorcodes are random, so each new code lands on a random page of an index
//! ordered by (door, code). In a WAL database every such page is a 4 KiB frame written at the commit and
//! written again by the checkpoint: that index was 57 % of all WAL frames under the invite load
//! (docs/performance.md). Kept in memory it costs a few microseconds per code and writes nothing.
//! Memory: roughly 80 bytes per access with a code (a door uuid, a code and a row id per entry).

use rusqlite::Connection;

/// Creates the index and its triggers on this connection and fills it from `accesses`.
/// Run once per connection, after the migrations.
pub fn install(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        r#"
        CREATE TEMP TABLE door_codes (
            door_uuid  TEXT NOT NULL,
            doorcode   TEXT NOT NULL,
            access_seq INTEGER NOT NULL,
            PRIMARY KEY (door_uuid, doorcode, access_seq)
        ) WITHOUT ROWID;
        CREATE TEMP TRIGGER door_codes_added AFTER INSERT ON main.accesses
        WHEN NEW.doorcode IS NOT NULL BEGIN
            INSERT INTO door_codes (door_uuid, doorcode, access_seq) VALUES (NEW.door_uuid, NEW.doorcode, NEW.seq);
        END;
        CREATE TEMP TRIGGER door_codes_removed AFTER DELETE ON main.accesses
        WHEN OLD.doorcode IS NOT NULL BEGIN
            DELETE FROM door_codes
            WHERE door_uuid = OLD.door_uuid AND doorcode = OLD.doorcode AND access_seq = OLD.seq;
        END;
        CREATE TEMP TRIGGER door_codes_changed AFTER UPDATE OF door_uuid, doorcode ON main.accesses BEGIN
            DELETE FROM door_codes
            WHERE door_uuid = OLD.door_uuid AND doorcode = OLD.doorcode AND access_seq = OLD.seq;
            INSERT INTO door_codes (door_uuid, doorcode, access_seq)
            SELECT NEW.door_uuid, NEW.doorcode, NEW.seq WHERE NEW.doorcode IS NOT NULL;
        END;
        INSERT INTO temp.door_codes (door_uuid, doorcode, access_seq)
        SELECT door_uuid, doorcode, seq FROM main.accesses WHERE doorcode IS NOT NULL;
        "#,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::db::{ScratchDir, schema};

    /// Every (door, code, access) the index holds, in order.
    fn indexed(conn: &Connection) -> Vec<(String, String, i64)> {
        let mut statement =
            conn.prepare("SELECT door_uuid, doorcode, access_seq FROM temp.door_codes").expect("prepare");
        let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?))).expect("query");
        rows.collect::<Result<_, _>>().expect("rows")
    }

    /// A migrated database on `path` with the index, without foreign keys (so accesses need no users or doors).
    fn open(path: &str) -> Connection {
        let mut conn = Connection::open(path).expect("open");
        conn.pragma_update(None, "foreign_keys", "OFF").expect("foreign keys");
        schema::migrate(&mut conn).expect("migrate");
        install(&conn).expect("install");
        conn
    }

    /// Inserts an access of `user` to `door` with `code`.
    fn grant(conn: &Connection, user: &str, door: &str, code: Option<&str>) -> i64 {
        conn.execute(
            "INSERT INTO accesses (user_uuid, door_uuid, granter_type, granter_uuid, passcode_type, role,
                                   shareable, start_time, doorcode, doorcode_description)
             VALUES (?1, ?2, 'MANAGER', '', 'PERMANENT', 'NON_RESIDENT', 0, '2026-01-01T00:00:00.000Z', ?3, 'VALID')",
            rusqlite::params![user, door, code],
        )
        .expect("insert");
        conn.last_insert_rowid()
    }

    fn entry(door: &str, code: &str, seq: i64) -> (String, String, i64) {
        (door.to_owned(), code.to_owned(), seq)
    }

    #[test]
    fn the_index_follows_inserts_updates_deletes_and_rollbacks() {
        let mut conn = open(":memory:");

        let first = grant(&conn, "user 1", "door a", Some("1234567"));
        let resident = grant(&conn, "user 2", "door a", None);
        assert_eq!(
            indexed(&conn),
            vec![entry("door a", "1234567", first)],
            "an access without a code is not indexed"
        );

        conn.execute("UPDATE accesses SET doorcode = '7654321' WHERE seq = ?1", [first]).expect("update");
        conn.execute("UPDATE accesses SET doorcode = '1111111' WHERE seq = ?1", [resident]).expect("update");
        assert_eq!(
            indexed(&conn),
            vec![entry("door a", "1111111", resident), entry("door a", "7654321", first)],
            "a changed code replaces the old one"
        );

        let tx = conn.transaction().expect("begin");
        grant(&tx, "user 3", "door b", Some("2222222"));
        tx.execute("DELETE FROM accesses WHERE seq = ?1", [first]).expect("delete");
        drop(tx); // rolled back
        assert_eq!(
            indexed(&conn),
            vec![entry("door a", "1111111", resident), entry("door a", "7654321", first)],
            "a rolled-back transaction leaves the index as it was"
        );

        conn.execute("DELETE FROM accesses WHERE seq = ?1", [first]).expect("delete");
        assert_eq!(indexed(&conn), vec![entry("door a", "1111111", resident)]);
    }

    #[test]
    fn a_reopened_database_rebuilds_the_index_from_its_accesses() {
        let dir = ScratchDir::new();
        let path = dir.file("sim.sqlite");
        let seq = grant(&open(&path), "user 1", "door a", Some("1234567"));
        assert_eq!(indexed(&open(&path)), vec![entry("door a", "1234567", seq)]);
    }
}
