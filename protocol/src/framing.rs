//! Fragmentation and reassembly of protocol messages over BLE ATT writes and notifications.
//!
//! This module owns how one message (already sealed: its single AEAD tag is inside it) is cut into packets
//! that fit an ATT MTU of 23..=517 bytes, and how the far side puts them back together with hard limits, so a
//! malicious peer can never make us allocate more than [`MAX_MESSAGE`] bytes per message. It does not know
//! what is in a message.
//!
//! Packet layout (payload per packet = MTU − 3):
//!
//! ```text
//! header  1 byte   bit 7     first-fragment flag
//!                  bits 6..4 fragment index mod 8 (0 on the first fragment)
//!                  bits 3..0 message counter mod 16 (per direction, starts at 0 on each connection)
//! total   2 bytes  u16 big-endian message length, first fragment only (1..=MAX_MESSAGE)
//! data    the rest (at least 1 byte)
//! ```
//!
//! The link is ordered and reliable (ATT over L2CAP), so the receiver demands exact order: the first fragment
//! of the expected message counter, then fragments with consecutive indices until `total` bytes have arrived.
//! Anything else (a continuation with no message open, a new first fragment mid-message, a skipped or repeated
//! index, a stale or future counter, a fragment that overruns `total` or the MTU) is an error; the receiver
//! discards the partial message and the caller should drop the connection.

use alloc::vec::Vec;

use crate::ProtocolError;

/// Smallest ATT MTU (BLE 4.0 default).
pub const MIN_MTU: u16 = 23;
/// Largest ATT MTU.
pub const MAX_MTU: u16 = 517;
/// ATT header bytes per packet (opcode + handle).
pub const ATT_OVERHEAD: usize = 3;
/// Hard ceiling on one message's length; the reassembler refuses larger totals before allocating.
pub const MAX_MESSAGE: usize = 4096;
/// Bytes of header on a first fragment (header byte + u16 total).
pub const FIRST_HEADER: usize = 3;
/// Bytes of header on a continuation fragment.
pub const NEXT_HEADER: usize = 1;

const FIRST_BIT: u8 = 0x80;

fn payload_len(mtu: u16) -> Result<usize, ProtocolError> {
    if !(MIN_MTU..=MAX_MTU).contains(&mtu) {
        return Err(ProtocolError::InvalidMtu(mtu));
    }
    Ok(usize::from(mtu) - ATT_OVERHEAD)
}

/// Cuts `message` into packets for `mtu` using message counter `counter` (mod 16).
pub fn fragment(message: &[u8], mtu: u16, counter: u8) -> Result<Vec<Vec<u8>>, ProtocolError> {
    let payload = payload_len(mtu)?;
    if message.is_empty() || message.len() > MAX_MESSAGE {
        return Err(ProtocolError::MessageSize(message.len()));
    }
    let counter = counter & 0x0f;
    let first_len = message.len().min(payload - FIRST_HEADER);
    let mut packets = Vec::with_capacity(1 + (message.len() - first_len).div_ceil(payload - NEXT_HEADER));
    let mut first = Vec::with_capacity(FIRST_HEADER + first_len);
    first.push(FIRST_BIT | counter);
    first.extend_from_slice(&(message.len() as u16).to_be_bytes());
    first.extend_from_slice(&message[..first_len]);
    packets.push(first);
    for (i, chunk) in message[first_len..].chunks(payload - NEXT_HEADER).enumerate() {
        let index = ((i + 1) % 8) as u8;
        let mut p = Vec::with_capacity(NEXT_HEADER + chunk.len());
        p.push((index << 4) | counter);
        p.extend_from_slice(chunk);
        packets.push(p);
    }
    Ok(packets)
}

/// Number of ATT payload bytes (all packet headers included, ATT's own 3 bytes excluded) that
/// [`fragment`] produces for a message of `len` bytes at `mtu`.
pub fn framed_len(len: usize, mtu: u16) -> Result<usize, ProtocolError> {
    let payload = payload_len(mtu)?;
    if len == 0 || len > MAX_MESSAGE {
        return Err(ProtocolError::MessageSize(len));
    }
    let first = len.min(payload - FIRST_HEADER);
    let rest = len - first;
    let packets = rest.div_ceil(payload - NEXT_HEADER);
    Ok(FIRST_HEADER + len + packets * NEXT_HEADER)
}

/// Sending side of one direction of a connection: numbers messages and fragments them.
#[derive(Debug)]
pub struct Fragmenter {
    mtu: u16,
    counter: u8,
}

impl Fragmenter {
    /// A fragmenter for a negotiated `mtu` (23..=517).
    pub fn new(mtu: u16) -> Result<Fragmenter, ProtocolError> {
        payload_len(mtu)?;
        Ok(Fragmenter { mtu, counter: 0 })
    }

    /// Packets of the next message.
    pub fn fragment(&mut self, message: &[u8]) -> Result<Vec<Vec<u8>>, ProtocolError> {
        let packets = fragment(message, self.mtu, self.counter)?;
        self.counter = (self.counter + 1) & 0x0f;
        Ok(packets)
    }
}

#[derive(Debug)]
struct Partial {
    buf: Vec<u8>,
    total: usize,
    next_index: u8,
}

/// Receiving side of one direction of a connection.
#[derive(Debug)]
pub struct Reassembler {
    payload: usize,
    expected_counter: u8,
    partial: Option<Partial>,
}

impl Reassembler {
    /// A reassembler for a negotiated `mtu` (23..=517).
    pub fn new(mtu: u16) -> Result<Reassembler, ProtocolError> {
        Ok(Reassembler { payload: payload_len(mtu)?, expected_counter: 0, partial: None })
    }

    /// Feeds one packet; returns the message when its last fragment arrives. On error the partial message is
    /// discarded (the connection should be dropped).
    pub fn push(&mut self, packet: &[u8]) -> Result<Option<Vec<u8>>, ProtocolError> {
        let result = self.push_inner(packet);
        if result.is_err() {
            self.partial = None;
        }
        result
    }

    fn push_inner(&mut self, packet: &[u8]) -> Result<Option<Vec<u8>>, ProtocolError> {
        if packet.len() > self.payload {
            return Err(ProtocolError::FragmentSize(packet.len()));
        }
        let Some(&header) = packet.first() else {
            return Err(ProtocolError::FragmentSize(0));
        };
        let counter = header & 0x0f;
        let index = (header >> 4) & 0x07;
        if counter != self.expected_counter {
            return Err(ProtocolError::FragmentOrder);
        }
        if header & FIRST_BIT != 0 {
            if self.partial.is_some() || index != 0 {
                return Err(ProtocolError::FragmentOrder);
            }
            if packet.len() < FIRST_HEADER + 1 {
                return Err(ProtocolError::FragmentSize(packet.len()));
            }
            let total = usize::from(u16::from_be_bytes([packet[1], packet[2]]));
            if total == 0 || total > MAX_MESSAGE {
                return Err(ProtocolError::MessageSize(total));
            }
            let data = &packet[FIRST_HEADER..];
            if data.len() > total {
                return Err(ProtocolError::FragmentSize(packet.len()));
            }
            let mut buf = Vec::with_capacity(total);
            buf.extend_from_slice(data);
            self.partial = Some(Partial { buf, total, next_index: 1 });
        } else {
            let Some(partial) = self.partial.as_mut() else {
                return Err(ProtocolError::FragmentOrder);
            };
            if index != partial.next_index {
                return Err(ProtocolError::FragmentOrder);
            }
            let data = &packet[NEXT_HEADER..];
            if data.is_empty() || partial.buf.len() + data.len() > partial.total {
                return Err(ProtocolError::FragmentSize(packet.len()));
            }
            partial.buf.extend_from_slice(data);
            partial.next_index = (partial.next_index + 1) % 8;
        }
        match self.partial.take() {
            Some(p) if p.buf.len() == p.total => {
                self.expected_counter = (self.expected_counter + 1) & 0x0f;
                Ok(Some(p.buf))
            }
            other => {
                self.partial = other;
                Ok(None)
            }
        }
    }

    /// Bytes currently held for a message in progress (never above [`MAX_MESSAGE`]).
    pub fn buffered_capacity(&self) -> usize {
        self.partial.as_ref().map_or(0, |p| p.buf.capacity())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + 3) as u8).collect()
    }

    fn round_trip(len: usize, mtu: u16) {
        let m = msg(len);
        let mut f = Fragmenter::new(mtu).expect("mtu");
        let mut r = Reassembler::new(mtu).expect("mtu");
        for _ in 0..20 {
            let packets = f.fragment(&m).expect("fits");
            let total: usize = packets.iter().map(Vec::len).sum();
            assert_eq!(total, framed_len(len, mtu).expect("fits"));
            let mut out = None;
            for (i, p) in packets.iter().enumerate() {
                assert!(p.len() <= usize::from(mtu) - 3);
                let got = r.push(p).expect("in order");
                assert_eq!(got.is_some(), i == packets.len() - 1);
                out = got.or(out);
            }
            assert_eq!(out.as_deref(), Some(&m[..]));
        }
    }

    #[test]
    fn round_trips_at_every_edge() {
        for mtu in [23u16, 24, 27, 100, 185, 247, 517] {
            for len in [1usize, 2, 16, 17, 18, 19, 36, 37, 182, 183, 271, 514, 515, 1000, MAX_MESSAGE] {
                round_trip(len, mtu);
            }
        }
    }

    #[test]
    fn limits_are_enforced() {
        assert_eq!(Fragmenter::new(22).err(), Some(ProtocolError::InvalidMtu(22)));
        assert_eq!(Reassembler::new(518).err(), Some(ProtocolError::InvalidMtu(518)));
        assert_eq!(fragment(&[], 23, 0).err(), Some(ProtocolError::MessageSize(0)));
        assert_eq!(fragment(&msg(MAX_MESSAGE + 1), 517, 0).err(), Some(ProtocolError::MessageSize(4097)));
        let mut r = Reassembler::new(185).expect("mtu");
        assert_eq!(r.push(&[0x80, 0x10, 0x01, 0]), Err(ProtocolError::MessageSize(4097)));
        assert_eq!(r.push(&[0x80, 0x00, 0x00, 0]), Err(ProtocolError::MessageSize(0)));
        assert_eq!(r.buffered_capacity(), 0);
        assert_eq!(r.push(&[0x80, 0x00, 0x01, 1, 2]), Err(ProtocolError::FragmentSize(5)));
        assert_eq!(r.push(&[0u8; 183]), Err(ProtocolError::FragmentSize(183)));
        assert_eq!(r.push(&[]), Err(ProtocolError::FragmentSize(0)));
    }

    #[test]
    fn order_is_enforced() {
        let m = msg(100);
        let packets = fragment(&m, 23, 0).expect("fits");
        assert!(packets.len() > 3);
        // Continuation first.
        let mut r = Reassembler::new(23).expect("mtu");
        assert_eq!(r.push(&packets[1]), Err(ProtocolError::FragmentOrder));
        // Duplicate continuation.
        let mut r = Reassembler::new(23).expect("mtu");
        r.push(&packets[0]).expect("first");
        r.push(&packets[1]).expect("second");
        assert_eq!(r.push(&packets[1]), Err(ProtocolError::FragmentOrder));
        // Skipped continuation.
        let mut r = Reassembler::new(23).expect("mtu");
        r.push(&packets[0]).expect("first");
        assert_eq!(r.push(&packets[2]), Err(ProtocolError::FragmentOrder));
        // New first fragment mid-message.
        let mut r = Reassembler::new(23).expect("mtu");
        r.push(&packets[0]).expect("first");
        assert_eq!(r.push(&packets[0]), Err(ProtocolError::FragmentOrder));
        // A whole message replayed (same counter) after completion.
        let small = fragment(b"hi", 23, 0).expect("fits");
        let mut r = Reassembler::new(23).expect("mtu");
        assert_eq!(r.push(&small[0]).expect("ok").as_deref(), Some(&b"hi"[..]));
        assert_eq!(r.push(&small[0]), Err(ProtocolError::FragmentOrder));
        // Overrun of the announced total.
        let mut r = Reassembler::new(23).expect("mtu");
        r.push(&[0x80, 0x00, 0x03, 1, 2]).expect("first");
        assert_eq!(r.push(&[0x10, 3, 4]), Err(ProtocolError::FragmentSize(3)));
    }

    /// xorshift64*: a tiny deterministic PRNG for property-style tests.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
    }

    #[test]
    fn random_and_mutated_packets_never_panic_or_overallocate() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let good = fragment(&msg(700), 64, 0).expect("fits");
        for _ in 0..20_000 {
            let mtu = 23 + (rng.next() % 495) as u16;
            let mut r = Reassembler::new(mtu).expect("mtu");
            for _ in 0..8 {
                let mut p = if rng.next().is_multiple_of(2) {
                    good[(rng.next() as usize) % good.len()].clone()
                } else {
                    let len = (rng.next() % 600) as usize;
                    (0..len).map(|_| rng.next() as u8).collect()
                };
                if !p.is_empty() && rng.next().is_multiple_of(3) {
                    let i = (rng.next() as usize) % p.len();
                    p[i] ^= 1 << (rng.next() % 8);
                }
                if let Ok(Some(m)) = r.push(&p) {
                    assert!(m.len() <= MAX_MESSAGE);
                }
                assert!(r.buffered_capacity() <= MAX_MESSAGE);
            }
        }
    }
}
