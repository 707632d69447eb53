use chrono::TimeZone;

use super::*;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 10, 16, 0, 0).single().expect("valid instant")
}

fn lock(door: &str, id: u8) -> CachedLock {
    CachedLock { door_uuid: door.into(), lock_id: [id; 16], view_json: format!("{{\"door\":\"{door}\"}}") }
}

#[test]
fn a_fresh_file_is_migrated_and_reopens_with_its_data() {
    let dir = std::env::temp_dir().join(format!("latchkey-store-{}", uuid::Uuid::new_v4()));
    let path = dir.join("client.sqlite");
    {
        let store = Store::open(&path).expect("open");
        store
            .set_registration(&Registration { device_uuid: "dev-1".into(), public_key_hex: "02ab".into() })
            .expect("register");
        store.add_pending_deltas("door-a", &[(3, vec![3]), (4, vec![4])]).expect("deltas");
    }
    let store = Store::open(&path).expect("reopen");
    let version: u32 =
        store.read(|conn| Ok(conn.query_row("PRAGMA user_version", [], |row| row.get(0))?)).expect("version");
    assert_eq!(version, VERSION);
    assert_eq!(store.registration().expect("read").map(|r| r.device_uuid), Some("dev-1".into()));
    assert_eq!(store.pending_deltas("door-a", 16).expect("read"), vec![(3, vec![3]), (4, vec![4])]);
    let mode: String =
        store.read(|conn| Ok(conn.query_row("PRAGMA journal_mode", [], |row| row.get(0))?)).expect("mode");
    assert_eq!(mode, "wal");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn write_commits_only_on_ok() {
    let store = Store::open_in_memory().expect("open");
    let failed: Result<(), StoreError> = store.write(|tx| {
        meta_set(tx, USER_ID, "someone")?;
        Err(StoreError("stop".into()))
    });
    assert!(failed.is_err());
    assert_eq!(store.user_id().expect("read"), None);
    store.set_user_id("someone").expect("write");
    assert_eq!(store.user_id().expect("read"), Some("someone".into()));
}

#[test]
fn replacing_locks_drops_credentials_and_tickets_of_unlisted_doors_but_keeps_the_outbox() {
    let store = Store::open_in_memory().expect("open");
    let credential = StoredCredential { credential: vec![1, 2, 3], expires_at: None };
    store
        .replace_locks(&[(lock("a", 1), Some(credential.clone())), (lock("b", 2), Some(credential))], now())
        .expect("replace");
    let ticket = PhoneTicket {
        lock_id: [2; 16],
        ticket_id: [9; 16],
        expires_at: 77,
        secret: ResumptionSecret::from_bytes([5; 32]),
    };
    store.put_ticket("b", &ticket).expect("ticket");
    store.add_pending_deltas("b", &[(1, vec![1])]).expect("delta");
    store.replace_locks(&[(lock("a", 1), None)], now()).expect("replace");
    let (locks, fetched_at) = store.cached_locks().expect("read");
    assert_eq!(locks, vec![lock("a", 1)]);
    assert_eq!(fetched_at, Some(now()));
    assert!(store.credential("a").expect("read").is_none(), "no credential listed: none kept");
    assert!(store.credential("b").expect("read").is_none());
    assert!(store.take_ticket("b").expect("read").is_none());
    assert_eq!(store.pending_delta_count("b").expect("read"), 1, "the outbox is never dropped");
}

#[test]
fn a_new_registration_drops_the_credentials_and_tickets_of_the_one_it_replaces() {
    let store = Store::open_in_memory().expect("open");
    let registration =
        |device: &str| Registration { device_uuid: device.into(), public_key_hex: "02ab".into() };
    let credential = StoredCredential { credential: vec![1, 2, 3], expires_at: None };
    let ticket = PhoneTicket {
        lock_id: [1; 16],
        ticket_id: [9; 16],
        expires_at: 77,
        secret: ResumptionSecret::from_bytes([5; 32]),
    };
    store.set_registration(&registration("first user's device")).expect("register");
    store.replace_locks(&[(lock("a", 1), Some(credential))], now()).expect("replace");
    store.put_ticket("a", &ticket).expect("ticket");
    store.add_pending_deltas("a", &[(1, vec![1])]).expect("delta");

    store.set_registration(&registration("first user's device")).expect("the same again");
    assert!(store.credential("a").expect("read").is_some(), "the same registration keeps its credentials");

    store.set_registration(&registration("second user's device")).expect("register again");
    assert!(store.credential("a").expect("read").is_none(), "credentials of the old registration are gone");
    assert!(store.take_ticket("a").expect("read").is_none(), "so are its tickets");
    assert_eq!(
        store.cached_locks().expect("read").0,
        vec![lock("a", 1)],
        "the cached locks stay until a fetch"
    );
    assert_eq!(store.pending_delta_count("a").expect("read"), 1, "the outbox is never dropped");
}

#[test]
fn a_ticket_is_taken_once() {
    let store = Store::open_in_memory().expect("open");
    let ticket = PhoneTicket {
        lock_id: [1; 16],
        ticket_id: [2; 16],
        expires_at: 1234,
        secret: ResumptionSecret::from_bytes([3; 32]),
    };
    store.put_ticket("a", &ticket).expect("put");
    assert_eq!(store.take_ticket("a").expect("take"), Some(ticket));
    assert_eq!(store.take_ticket("a").expect("take"), None);
}

#[test]
fn a_sync_record_confirms_deltas_and_queues_logs_until_acknowledged() {
    let store = Store::open_in_memory().expect("open");
    store.add_pending_deltas("a", &[(1, vec![1]), (2, vec![2]), (3, vec![3]), (4, vec![4])]).expect("add");
    let id = store
        .record_sync("a", 2, 80, &[4], b"hello", &[(0, vec![0xa0]), (1, vec![0xa1])], now())
        .expect("record");
    assert_eq!(store.last_applied_seq("a").expect("read"), 2);
    assert_eq!(store.pending_deltas("a", 16).expect("read"), vec![(3, vec![3])]);
    // Re-fetched deltas the lock already applied are not queued again.
    store.add_pending_deltas("a", &[(2, vec![2]), (3, vec![3])]).expect("add");
    assert_eq!(store.pending_delta_count("a").expect("read"), 1);
    let pending = store.pending_logs(Some("a")).expect("read");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].id, id);
    assert_eq!(pending[0].hello, b"hello".to_vec());
    assert_eq!(pending[0].batches, vec![(0, vec![0xa0]), (1, vec![0xa1])]);
    assert!(store.pending_logs(Some("other")).expect("read").is_empty());
    assert_eq!(store.pending_logs(None).expect("read").len(), 1);
    store.ack_logs(id).expect("ack");
    assert!(store.pending_logs(None).expect("read").is_empty());
    let batches: i64 = store
        .read(|conn| Ok(conn.query_row("SELECT COUNT(*) FROM log_batches", [], |row| row.get(0))?))
        .expect("count");
    assert_eq!(batches, 0, "batches go with their upload");
}

#[test]
fn a_quarantined_upload_is_kept_listed_and_no_longer_pending() {
    let store = Store::open_in_memory().expect("open");
    let bogus = store.record_sync("a", 0, 50, &[], b"hello", &[(0, vec![0xb0])], now()).expect("record");
    let real = store.record_sync("a", 1, 80, &[], b"hello2", &[(0, vec![0xa0])], now()).expect("record");
    store.quarantine_logs(bogus, "bad request 400: log batch 0 does not open", now()).expect("quarantine");
    let pending: Vec<i64> = store.pending_logs(None).expect("read").iter().map(|p| p.id).collect();
    assert_eq!(pending, vec![real], "the quarantined upload no longer holds up the next one");
    let quarantined = store.quarantined_logs().expect("read");
    assert_eq!(quarantined.len(), 1);
    assert_eq!((quarantined[0].id, quarantined[0].batch_count), (bogus, 1), "kept with its batch");
    assert!(quarantined[0].refusal.contains("does not open"));
}

#[test]
fn a_version_1_file_is_migrated_with_its_queued_uploads() {
    let dir = std::env::temp_dir().join(format!("latchkey-store-{}", uuid::Uuid::new_v4()));
    let path = dir.join("client.sqlite");
    std::fs::create_dir_all(&dir).expect("dir");
    {
        let conn = Connection::open(&path).expect("open");
        conn.execute_batch(schema::tests_v1()).expect("version 1");
        conn.pragma_update(None, "user_version", 1).expect("version");
        conn.execute(
            "INSERT INTO log_uploads (door_uuid, hello, last_applied_seq, battery_percent, read_at)
             VALUES ('a', x'00', 3, 90, '2026-06-10T16:00:00Z')",
            [],
        )
        .expect("an upload queued by version 1");
    }
    let store = Store::open(&path).expect("migrates");
    assert_eq!(store.pending_logs(None).expect("read").len(), 1, "nothing queued is lost");
    assert!(store.quarantined_logs().expect("read").is_empty());
    drop(store);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn clear_wipes_everything_and_debug_hides_values() {
    let store = Store::open_in_memory().expect("open");
    store.set_user_id("u").expect("write");
    store.add_pending_deltas("a", &[(1, vec![1])]).expect("add");
    store.clear().expect("clear");
    assert_eq!(store.user_id().expect("read"), None);
    assert_eq!(store.pending_delta_count("a").expect("read"), 0);
    let credential = StoredCredential { credential: vec![0x42; 156], expires_at: None };
    assert!(!format!("{credential:?}").contains("66"), "{credential:?}");
}

#[test]
fn the_version_changes_with_every_commit_through_any_store_of_the_same_file() {
    let dir = std::env::temp_dir().join(format!("latchkey-store-{}", uuid::Uuid::new_v4()));
    let store = Store::open(&dir.join("client.sqlite")).expect("open");
    // The same file by another spelling of its path: this process shares one connection per file.
    let other = Store::open(&dir.join(".").join("client.sqlite")).expect("open the same file again");
    assert!(Arc::ptr_eq(&store.shared, &other.shared), "one connection per file in a process");
    let start = store.version();
    let _ = store.cached_locks().expect("read");
    assert_eq!(store.version(), start, "reads keep the version");

    store.replace_locks(&[(lock("door-a", 1), None)], now()).expect("write");
    let after_own_write = store.version();
    assert_ne!(after_own_write, start, "a commit through this store");

    let failed: Result<(), StoreError> = store.write(|_| Err(StoreError("rolled back".into())));
    assert!(failed.is_err());
    assert_eq!(store.version(), after_own_write, "a rolled-back write changes nothing");

    other.replace_locks(&[], now()).expect("write through the other store");
    assert_ne!(store.version(), after_own_write, "a commit through the other store of the file");
    assert!(store.cached_locks().expect("read").0.is_empty());

    drop((store, other));
    let reopened = Store::open(&dir.join("client.sqlite")).expect("reopen once every store is dropped");
    assert!(reopened.cached_locks().expect("read").0.is_empty());
    let _ = std::fs::remove_dir_all(dir);
}
