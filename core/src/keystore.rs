//! What platform keystores hand back, in the shape the [`crate::ble::Signer`] contract wants: written once here
//! for the Android and Apple signers, which are left with the keystore calls themselves.
//!
//! - [`compressed_public_key`]: a P-256 public key as a keystore exports it (X.509 `SubjectPublicKeyInfo` DER from
//!   Android's `PublicKey.getEncoded()`, the 65-byte uncompressed SEC1 point from Apple's
//!   `SecKeyCopyExternalRepresentation`, or already compressed) → the 33-byte compressed SEC1 point.
//! - [`raw_low_s_signature`]: a DER ECDSA signature (`SEQUENCE { INTEGER r, INTEGER s }`, what Android's
//!   `SHA256withECDSA` and Apple's `ecdsaSignatureMessageX962SHA256` return) → 64 bytes `r || s` with `s` replaced
//!   by `n - s` when it is high (locks accept only low-S signatures; keystores return either).
//!
//! Both are strict: a key not on P-256, a signature with trailing bytes, a non-minimal or negative integer, or r or
//! s out of range is refused with a [`KeyEncodingError`] saying what was wrong. Pure code: no I/O.

/// The DER prefix of a P-256 `SubjectPublicKeyInfo` (id-ecPublicKey, prime256v1, a 66-byte BIT STRING), before the
/// 65-byte uncompressed point.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86,
    0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// A key or signature from a keystore that is not what the Signer contract can use.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyEncodingError(String);

fn refuse(what: &str) -> KeyEncodingError {
    KeyEncodingError(what.to_owned())
}

/// The 33-byte compressed SEC1 point of a P-256 public key given as X.509 `SubjectPublicKeyInfo` DER, a 65-byte
/// uncompressed SEC1 point, or a 33-byte compressed one (see the module's doc).
pub fn compressed_public_key(encoded: &[u8]) -> Result<[u8; 33], KeyEncodingError> {
    let point = match encoded.len() {
        91 if encoded.starts_with(&P256_SPKI_PREFIX) => &encoded[P256_SPKI_PREFIX.len()..],
        91 => {
            return Err(refuse(
                "the device key is not a P-256 key (its SubjectPublicKeyInfo names another curve)",
            ));
        }
        65 | 33 => encoded,
        other => {
            return Err(KeyEncodingError(format!(
                "the device key is not a P-256 public key ({other} bytes; expected an X.509 SubjectPublicKeyInfo \
                 of 91 bytes or a SEC1 point of 65 or 33)"
            )));
        }
    };
    let key = p256::PublicKey::from_sec1_bytes(point)
        .map_err(|_| refuse("the device key's point is not on the P-256 curve"))?;
    let compressed = p256::CompressedPoint::from(&key);
    let mut out = [0u8; 33];
    out.copy_from_slice(compressed.as_slice());
    Ok(out)
}

/// 64 bytes `r || s` with low S from a DER ECDSA P-256 signature (see the module's doc).
pub fn raw_low_s_signature(der: &[u8]) -> Result<[u8; 64], KeyEncodingError> {
    let mut reader = Der { bytes: der, at: 0 };
    reader.expect(0x30, "SEQUENCE")?;
    let length = reader.length()?;
    if reader.at + length != der.len() {
        return Err(refuse("the keystore's signature has trailing or missing bytes"));
    }
    let r = reader.integer()?;
    let s = reader.integer()?;
    if reader.at != der.len() {
        return Err(refuse("the keystore's signature has extra fields"));
    }
    let signature = p256::ecdsa::Signature::from_scalars(r, s)
        .map_err(|_| refuse("the keystore's signature is out of range for P-256"))?;
    let signature = signature.normalize_s();
    let mut raw = [0u8; 64];
    raw.copy_from_slice(&signature.to_bytes());
    Ok(raw)
}

/// A strict reader of the two DER shapes a signature uses (short and one-byte long lengths).
struct Der<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Der<'_> {
    fn byte(&mut self) -> Result<u8, KeyEncodingError> {
        let byte = *self.bytes.get(self.at).ok_or_else(|| refuse("the keystore's signature is truncated"))?;
        self.at += 1;
        Ok(byte)
    }

    fn expect(&mut self, tag: u8, name: &str) -> Result<(), KeyEncodingError> {
        if self.byte()? != tag {
            return Err(KeyEncodingError(format!("the keystore's signature is not DER (expected a {name})")));
        }
        Ok(())
    }

    fn length(&mut self) -> Result<usize, KeyEncodingError> {
        match self.byte()? {
            short @ 0..=0x7f => Ok(usize::from(short)),
            0x81 => match self.byte()? {
                long @ 0x80..=0xff => Ok(usize::from(long)),
                _ => Err(refuse("the keystore's signature uses a non-minimal DER length")),
            },
            _ => Err(refuse("the keystore's signature has a DER length too long for P-256")),
        }
    }

    /// A positive, minimally encoded INTEGER of at most 32 significant bytes, left-padded to 32.
    fn integer(&mut self) -> Result<[u8; 32], KeyEncodingError> {
        self.expect(0x02, "INTEGER")?;
        let length = self.length()?;
        let end = self.at.checked_add(length).filter(|end| *end <= self.bytes.len());
        let end = end.ok_or_else(|| refuse("the keystore's signature is truncated"))?;
        let value = &self.bytes[self.at..end];
        self.at = end;
        match value {
            [] => Err(refuse("the keystore's signature has an empty INTEGER")),
            [first, ..] if first & 0x80 != 0 => {
                Err(refuse("the keystore's signature has a negative INTEGER"))
            }
            [0, second, ..] if second & 0x80 == 0 => {
                Err(refuse("the keystore's signature has a non-minimal INTEGER"))
            }
            _ => {
                let significant = value.strip_prefix(&[0]).unwrap_or(value);
                if significant.len() > 32 {
                    return Err(refuse("the keystore's signature is out of range for P-256"));
                }
                let mut padded = [0u8; 32];
                padded[32 - significant.len()..].copy_from_slice(significant);
                Ok(padded)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    use p256::elliptic_curve::scalar::IsHigh;
    use p256::elliptic_curve::sec1::ToSec1Point;

    use super::*;

    /// The P-256 group order n.
    const ORDER: [u8; 32] = [
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xbc,
        0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
    ];

    /// A DER INTEGER of a 32-byte big-endian value, minimal.
    fn integer(value: &[u8; 32]) -> Vec<u8> {
        let mut body: Vec<u8> = value.iter().copied().skip_while(|byte| *byte == 0).collect();
        if body.first().is_none_or(|byte| byte & 0x80 != 0) {
            body.insert(0, 0);
        }
        let mut out = vec![0x02, u8::try_from(body.len()).expect("short")];
        out.extend(body);
        out
    }

    fn der(r: &[u8; 32], s: &[u8; 32]) -> Vec<u8> {
        let body = [integer(r), integer(s)].concat();
        let mut out = vec![0x30, u8::try_from(body.len()).expect("short")];
        out.extend(body);
        out
    }

    /// n - value, big-endian.
    fn negate(value: &[u8; 32]) -> [u8; 32] {
        let mut out = [0u8; 32];
        let mut borrow = 0i16;
        for i in (0..32).rev() {
            let mut digit = i16::from(ORDER[i]) - i16::from(value[i]) - borrow;
            borrow = i16::from(digit < 0);
            if digit < 0 {
                digit += 256;
            }
            out[i] = u8::try_from(digit).expect("a byte");
        }
        out
    }

    fn key() -> p256::ecdsa::SigningKey {
        p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).expect("a scalar")
    }

    #[test]
    fn a_high_s_der_signature_becomes_the_low_s_raw_one_and_verifies() {
        let digest = [42u8; 32];
        let signature: p256::ecdsa::Signature =
            p256::ecdsa::signature::hazmat::PrehashSigner::sign_prehash(&key(), &digest).expect("signs");
        let bytes = signature.to_bytes();
        let (r, s): ([u8; 32], [u8; 32]) =
            (bytes[..32].try_into().expect("32"), bytes[32..].try_into().expect("32"));
        let (low, high) = if bool::from(signature.s().is_high()) { (negate(&s), s) } else { (s, negate(&s)) };
        for given in [low, high] {
            let raw = raw_low_s_signature(&der(&r, &given)).expect("a valid signature");
            assert_eq!(raw[..32], r);
            assert_eq!(raw[32..], low, "always the low S");
            let parsed = p256::ecdsa::Signature::from_slice(&raw).expect("64 bytes");
            key().verifying_key().verify_prehash(&digest, &parsed).expect("the raw signature verifies");
        }
    }

    #[test]
    fn short_integers_are_padded() {
        let mut r = [0u8; 32];
        r[31] = 1;
        let mut s = [0u8; 32];
        s[30] = 0x80;
        let raw = raw_low_s_signature(&der(&r, &s)).expect("valid");
        assert_eq!(raw[..32], r);
        assert_eq!(raw[32..], s);
    }

    #[test]
    fn malformed_signatures_are_refused_with_what_was_wrong() {
        let mut one = [0u8; 32];
        one[31] = 1;
        let valid = der(&one, &one);
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![], "truncated"),
            ([valid.clone(), vec![0]].concat(), "trailing"),
            (valid[..valid.len() - 1].to_vec(), "trailing or missing"),
            (vec![0x31, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01], "SEQUENCE"),
            (vec![0x30, 0x06, 0x02, 0x01, 0x81, 0x02, 0x01, 0x01], "negative"),
            (vec![0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01], "non-minimal"),
            (vec![0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x01], "out of range"),
            (der(&ORDER, &one), "out of range"),
            ([vec![0x30, 0x08], integer(&one), integer(&one), vec![0x02, 0x00]].concat(), "extra fields"),
        ];
        for (bytes, expected) in cases {
            let refused = raw_low_s_signature(&bytes).expect_err("refused");
            assert!(refused.to_string().contains(expected), "{bytes:02x?}: {refused}");
        }
    }

    #[test]
    fn public_keys_compress_from_spki_uncompressed_and_compressed_forms() {
        let verifying = p256::PublicKey::from(key().verifying_key());
        let uncompressed = verifying.to_sec1_point(false);
        let expected: [u8; 33] = verifying.to_sec1_point(true).as_bytes().try_into().expect("33");
        let spki = [P256_SPKI_PREFIX.as_slice(), uncompressed.as_bytes()].concat();
        assert_eq!(compressed_public_key(&spki), Ok(expected));
        assert_eq!(compressed_public_key(uncompressed.as_bytes()), Ok(expected));
        assert_eq!(compressed_public_key(&expected), Ok(expected));
        assert_eq!(expected[0], if uncompressed.as_bytes()[64] & 1 == 1 { 0x03 } else { 0x02 });
    }

    #[test]
    fn keys_that_are_not_p256_points_are_refused() {
        let verifying = p256::PublicKey::from(key().verifying_key());
        let mut off_curve = verifying.to_sec1_point(false).as_bytes().to_vec();
        off_curve[64] ^= 1;
        assert!(compressed_public_key(&off_curve).is_err());
        let mut other_curve =
            [P256_SPKI_PREFIX.as_slice(), verifying.to_sec1_point(false).as_bytes()].concat();
        other_curve[22] = 0x08; // another named curve's last OID byte
        assert!(
            compressed_public_key(&other_curve).expect_err("refused").to_string().contains("not a P-256")
        );
        assert!(compressed_public_key(&[0u8; 12]).expect_err("refused").to_string().contains("12 bytes"));
    }
}
