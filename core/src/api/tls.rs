//! The TLS crypto provider of the HTTP client: rustls on *ring*, cut to what a phone needs.
//!
//! AES-GCM suites (TLS 1.3 and 1.2) and key exchange on P-256 and P-384 only: every TLS server offers
//! them and phones have AES instructions. ChaCha20-Poly1305 and X25519 are left out, and with them their
//! code: rustls's `ring::default_provider()` would link both in (about 30 KB of the phone library,
//! docs/performance.md `cdylib_stripped_bytes`). Certificate signatures: ECDSA P-256/P-384 and RSA
//! (PKCS#1 and PSS) as webpki verifies them with *ring*, mapped to TLS signature schemes as rustls does.
//! The client presents no certificate, so it loads no private key.
//!
//! [`client_config`] is the rustls configuration the HTTP client is built with: this provider, TLS 1.2 and 1.3,
//! HTTP/1.1 by ALPN, and the platform's certificate verifier made at the first handshake
//! ([`super::verifier`]), so building it never reads the system's root certificates.

use std::sync::Arc;

use rustls::crypto::ring::{cipher_suite, kx_group};
use rustls::crypto::{CryptoProvider, KeyProvider, SecureRandom, WebPkiSupportedAlgorithms};
use rustls::pki_types::PrivateKeyDer;
use rustls::sign::SigningKey;
use rustls::{Error, SignatureScheme};
use webpki::ring as algs;

use super::verifier::PlatformVerifier;

/// Randomness from the OS, through *ring*.
#[derive(Debug)]
struct OsRandom;

impl SecureRandom for OsRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), rustls::crypto::GetRandomFailed> {
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), buf)
            .map_err(|_| rustls::crypto::GetRandomFailed)
    }
}

/// No client certificates: nothing to load.
#[derive(Debug)]
struct NoClientKeys;

impl KeyProvider for NoClientKeys {
    fn load_private_key(&self, _key: PrivateKeyDer<'static>) -> Result<Arc<dyn SigningKey>, Error> {
        Err(Error::General("the Latchkey HTTP client presents no client certificate".into()))
    }
}

/// The certificate signature algorithms, and which TLS signature scheme uses which.
static SIGNATURE_ALGORITHMS: WebPkiSupportedAlgorithms = WebPkiSupportedAlgorithms {
    all: &[
        algs::ECDSA_P256_SHA256,
        algs::ECDSA_P256_SHA384,
        algs::ECDSA_P384_SHA256,
        algs::ECDSA_P384_SHA384,
        algs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
        algs::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
        algs::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
        algs::RSA_PKCS1_2048_8192_SHA256,
        algs::RSA_PKCS1_2048_8192_SHA384,
        algs::RSA_PKCS1_2048_8192_SHA512,
    ],
    mapping: &[
        (SignatureScheme::ECDSA_NISTP384_SHA384, &[algs::ECDSA_P384_SHA384, algs::ECDSA_P256_SHA384]),
        (SignatureScheme::ECDSA_NISTP256_SHA256, &[algs::ECDSA_P256_SHA256, algs::ECDSA_P384_SHA256]),
        (SignatureScheme::RSA_PSS_SHA512, &[algs::RSA_PSS_2048_8192_SHA512_LEGACY_KEY]),
        (SignatureScheme::RSA_PSS_SHA384, &[algs::RSA_PSS_2048_8192_SHA384_LEGACY_KEY]),
        (SignatureScheme::RSA_PSS_SHA256, &[algs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY]),
        (SignatureScheme::RSA_PKCS1_SHA512, &[algs::RSA_PKCS1_2048_8192_SHA512]),
        (SignatureScheme::RSA_PKCS1_SHA384, &[algs::RSA_PKCS1_2048_8192_SHA384]),
        (SignatureScheme::RSA_PKCS1_SHA256, &[algs::RSA_PKCS1_2048_8192_SHA256]),
    ],
};

/// The rustls configuration of the HTTP client (see the module's doc).
pub(crate) fn client_config() -> Result<rustls::ClientConfig, super::ApiError> {
    let provider = Arc::new(provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|error| super::ApiError::Config { message: format!("could not set up TLS: {error}") })?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PlatformVerifier::new(provider)))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The provider the HTTP client uses (see the module's doc).
pub(crate) fn provider() -> CryptoProvider {
    CryptoProvider {
        cipher_suites: vec![
            cipher_suite::TLS13_AES_128_GCM_SHA256,
            cipher_suite::TLS13_AES_256_GCM_SHA384,
            cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            cipher_suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        ],
        kx_groups: vec![kx_group::SECP256R1, kx_group::SECP384R1],
        signature_verification_algorithms: SIGNATURE_ALGORITHMS,
        secure_random: &OsRandom,
        key_provider: &NoClientKeys,
    }
}

#[cfg(test)]
mod tests {
    use rustls::pki_types::CertificateDer;
    use rustls::{ClientConnection, ProtocolVersion, RootCertStore, ServerConnection};

    use super::*;

    /// A server with a fresh certificate for `localhost` signed with `algorithm`, speaking `version`
    /// (rustls's full default provider, as any server would have), and a client with [`provider`] that
    /// trusts that certificate. Runs the handshake in memory and returns what the client agreed.
    fn handshake(
        algorithm: &'static rcgen::SignatureAlgorithm,
        version: &'static rustls::SupportedProtocolVersion,
    ) -> Result<(ProtocolVersion, String, String), Error> {
        let key = rcgen::KeyPair::generate_for(algorithm).expect("key");
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .expect("params")
            .self_signed(&key)
            .expect("certificate");
        let cert_der: CertificateDer<'static> = cert.der().clone();
        let server_provider = Arc::new(rustls::crypto::ring::default_provider());
        let server_config = rustls::ServerConfig::builder_with_provider(server_provider)
            .with_protocol_versions(&[version])?
            .with_no_client_auth()
            .with_single_cert(
                vec![cert_der.clone()],
                PrivateKeyDer::try_from(key.serialize_der()).expect("the key's DER"),
            )?;
        let mut roots = RootCertStore::empty();
        roots.add(cert_der)?;
        let client_config = rustls::ClientConfig::builder_with_provider(Arc::new(provider()))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = "localhost".try_into().expect("a DNS name");
        let mut client = ClientConnection::new(Arc::new(client_config), name)?;
        let mut server = ServerConnection::new(Arc::new(server_config))?;
        while client.is_handshaking() || server.is_handshaking() {
            let mut flight = Vec::new();
            while client.wants_write() {
                client.write_tls(&mut flight).expect("in memory");
            }
            let mut reader = flight.as_slice();
            while !reader.is_empty() {
                server.read_tls(&mut reader).expect("in memory");
                server.process_new_packets()?;
            }
            let mut flight = Vec::new();
            while server.wants_write() {
                server.write_tls(&mut flight).expect("in memory");
            }
            if flight.is_empty() && client.is_handshaking() && !client.wants_write() {
                return Err(Error::General("the handshake stalled".into()));
            }
            let mut reader = flight.as_slice();
            while !reader.is_empty() {
                client.read_tls(&mut reader).expect("in memory");
                client.process_new_packets()?;
            }
        }
        let version = client.protocol_version().expect("negotiated");
        let suite = format!("{:?}", client.negotiated_cipher_suite().expect("negotiated").suite());
        let group = format!("{:?}", client.negotiated_key_exchange_group().expect("negotiated").name());
        Ok((version, suite, group))
    }

    #[test]
    fn a_server_with_an_ecdsa_certificate_is_reached_over_tls_1_3_and_1_2_with_aes_gcm_and_p256() {
        for algorithm in [&rcgen::PKCS_ECDSA_P256_SHA256, &rcgen::PKCS_ECDSA_P384_SHA384] {
            for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
                let (agreed, suite, group) = handshake(algorithm, version).expect("the handshake succeeds");
                assert_eq!(agreed, version.version);
                assert!(suite.contains("AES") && suite.contains("GCM"), "{suite}");
                assert_eq!(group, "secp256r1", "the first group the client offers");
            }
        }
    }

    #[test]
    fn an_ed25519_server_certificate_is_refused() {
        // The client trusts the certificate the server shows: the refusal is the signature algorithm, which
        // this provider does not verify (public CAs issue no Ed25519 certificates).
        let refused = handshake(&rcgen::PKCS_ED25519, &rustls::version::TLS13);
        assert!(refused.is_err(), "an Ed25519 server certificate is refused: {refused:?}");
    }

    #[test]
    fn the_provider_has_randomness() {
        let mut random = [0u8; 32];
        provider().secure_random.fill(&mut random).expect("OS randomness");
        assert_ne!(random, [0u8; 32]);
    }
}
