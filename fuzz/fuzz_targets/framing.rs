//! BLE framing, both directions (the lock reassembles the phone's writes, the phone the lock's
//! notifications; both use `framing::Reassembler`).
//!
//! Input: MTU (u16) then length-prefixed packets. Asserts: never more than `MAX_MESSAGE` bytes held, a
//! refused packet drops the partial message, every message delivered is 1..=MAX_MESSAGE bytes, and each
//! delivered message survives `fragment` → `Reassembler` unchanged at the same MTU (round trip), in
//! exactly `framed_len` bytes of packets that each fit the MTU.
#![no_main]

use latchkey_fuzz::messages;
use latchkey_protocol::framing::{self, ATT_OVERHEAD, MAX_MESSAGE, MAX_MTU, MIN_MTU, Reassembler};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let mtu = MIN_MTU + u16::from_be_bytes([data[0], data[1]]) % (MAX_MTU - MIN_MTU + 1);
    let mut rx = Reassembler::new(mtu).expect("every MTU in range is accepted");
    for packet in messages(&data[2..]) {
        match rx.push(packet) {
            Ok(Some(message)) => {
                assert!(!message.is_empty() && message.len() <= MAX_MESSAGE);
                let packets = framing::fragment(&message, mtu, 0).expect("a delivered message fits");
                let mut again = Reassembler::new(mtu).expect("valid MTU");
                let mut out = None;
                for p in &packets {
                    assert!(p.len() <= usize::from(mtu) - ATT_OVERHEAD, "a packet overruns the MTU");
                    assert!(out.is_none(), "the message completed before its last packet");
                    out = again.push(p).expect("our own packets are accepted");
                }
                assert_eq!(out.as_deref(), Some(&message[..]), "fragment/reassemble round trip");
                assert_eq!(
                    framing::framed_len(message.len(), mtu).expect("fits"),
                    packets.iter().map(Vec::len).sum::<usize>()
                );
            }
            Ok(None) => {}
            Err(_) => assert_eq!(rx.buffered_capacity(), 0, "a refused packet drops the partial message"),
        }
        assert!(rx.buffered_capacity() <= MAX_MESSAGE, "the reassembler holds more than MAX_MESSAGE");
    }
});
