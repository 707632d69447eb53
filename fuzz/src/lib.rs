//! Shared parts of the fuzz targets: how one fuzz input becomes several messages, the genuine protocol
//! material of the test vectors (so targets can assert "only the genuine bytes are accepted"), and a
//! simulator world for the targets that drive the lock's GATT service and the HTTP router.
//!
//! Nothing here decides anything about the protocol: it only builds inputs with the crates under test.

#![forbid(unsafe_code)]

pub mod sim_world;
pub mod vectors;

/// Most messages one input is cut into (bounds the work of one run).
pub const MAX_MESSAGES: usize = 64;

/// Cuts a fuzz input into messages: each is a big-endian u16 length and that many bytes (a short last
/// message takes what is left). The seed corpora written by `cargo xtask fuzz` use the same layout.
pub fn messages(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while data.len() >= 2 && out.len() < MAX_MESSAGES {
        let len = usize::from(u16::from_be_bytes([data[0], data[1]]));
        let rest = &data[2..];
        let take = len.min(rest.len());
        out.push(&rest[..take]);
        data = &rest[take..];
    }
    out
}

/// The inverse of [`messages`], for seeds and for targets that re-encode what they parsed.
pub fn join(messages: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in messages {
        let len = u16::try_from(m.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&m[..usize::from(len)]);
    }
    out
}

/// A u32 from the first four bytes (zero-padded), and the rest.
pub fn take_u32(data: &[u8]) -> (u32, &[u8]) {
    let mut b = [0u8; 4];
    let n = data.len().min(4);
    b[..n].copy_from_slice(&data[..n]);
    (u32::from_be_bytes(b), &data[n..])
}
