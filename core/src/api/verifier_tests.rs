//! The HTTP client on systems whose root store is empty or holds one certificate, for real: each test runs
//! its scenario in a child process of this test binary whose `SSL_CERT_FILE` and `SSL_CERT_DIR` point at that
//! store (how the platform verifier reads the system's roots on Linux, the same path a root without
//! `ca-certificates` takes), against loopback servers, plain HTTP and HTTPS with a fresh certificate.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use reqwest::Method;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::http::Http;
use super::testing::{Canned, CannedServer};
use super::{ApiConfig, ApiError, TlsSetupKind};

/// Which store the child process sees (`LATCHKEY_TEST_ROOTS`).
const SCENARIO: &str = "LATCHKEY_TEST_ROOTS";

/// A scratch directory of its own under the system's temporary directory.
fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("latchkey-roots-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// Runs the ignored test `child` of this module in a child process with `SSL_CERT_FILE=cert_file`, an empty
/// `SSL_CERT_DIR` and `SCENARIO=scenario`, and asserts it passed.
fn run_child(child: &str, scenario: &str, cert_file: &Path) {
    let dir = scratch();
    let empty_dir = dir.join("certs");
    std::fs::create_dir_all(&empty_dir).expect("empty certificate directory");
    let module = module_path!().split_once("::").map_or(module_path!(), |(_, rest)| rest);
    let output = Command::new(std::env::current_exe().expect("the test binary"))
        .args(["--exact", &format!("{module}::{child}"), "--ignored", "--nocapture", "--test-threads=1"])
        .env("SSL_CERT_FILE", cert_file)
        .env("SSL_CERT_DIR", &empty_dir)
        .env(SCENARIO, scenario)
        .output()
        .expect("the child test process runs");
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the child failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("1 passed"), "the child ran no test:\n{stdout}");
}

/// Whether this process is the child of `scenario` (otherwise the ignored child test has nothing to do).
fn is_child(scenario: &str) -> bool {
    let this = std::env::var(SCENARIO).ok();
    if this.as_deref() != Some(scenario) {
        eprintln!("run by its parent test with {SCENARIO}={scenario}; nothing to do here");
        return false;
    }
    true
}

/// A self-signed certificate for `localhost` and its key.
fn certificate() -> (CertificateDer<'static>, PrivateKeyDer<'static>, String) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .expect("params")
        .self_signed(&key)
        .expect("certificate");
    let der = PrivateKeyDer::try_from(key.serialize_der()).expect("the key's DER");
    (cert.der().clone(), der, pem(cert.der()))
}

/// `der` as a PEM certificate (rcgen's `pem` feature is not built here).
fn pem(der: &[u8]) -> String {
    use base64::Engine;
    let text = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> =
        text.as_bytes().chunks(64).map(|line| std::str::from_utf8(line).expect("ASCII")).collect();
    format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"))
}

/// An HTTPS server on loopback answering every request with `200 {"ok":true}`, on its own thread; its URL.
fn https_server(cert: CertificateDer<'static>, key: PrivateKeyDer<'static>) -> String {
    let config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .expect("server certificate");
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let connection = rustls::ServerConnection::new(config.clone()).expect("connection");
            let mut tls = rustls::StreamOwned::new(connection, stream);
            // A client that refuses the certificate ends the handshake here: the read fails, next connection.
            let mut reader = BufReader::new(&mut tls);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|read| read > 0) && line != "\r\n" {
                line.clear();
            }
            if line != "\r\n" {
                continue;
            }
            let body = r#"{"ok":true}"#;
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = tls.write_all(response.as_bytes());
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
    });
    format!("https://localhost:{port}")
}

/// GET `/ping` on `base` with a client that makes one attempt.
async fn ping(base: &str) -> Result<serde_json::Value, ApiError> {
    let mut config = ApiConfig::parse(base)?;
    config.retry = super::RetryPolicy { max_attempts: 1, ..super::RetryPolicy::default() };
    let http = Http::new(&config)?;
    http.json(http.call(Method::GET, &["ping"])?, None).await
}

#[test]
fn without_root_certificates_the_client_builds_http_works_and_https_says_what_to_install() {
    let dir = scratch();
    let empty = dir.join("empty.pem");
    std::fs::write(&empty, "").expect("an empty bundle");
    run_child("child_without_root_certificates", "empty", &empty);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
#[ignore = "run by without_root_certificates_the_client_builds_http_works_and_https_says_what_to_install"]
async fn child_without_root_certificates() {
    if !is_child("empty") {
        return;
    }
    // Plain HTTP (a simulator) works.
    let server = CannedServer::start().await;
    server.script("/ping", [Canned::json(200, serde_json::json!({ "ok": true }))]);
    let answer = ping(server.url().as_str()).await.expect("http:// works without root certificates");
    assert_eq!(answer, serde_json::json!({ "ok": true }));

    // HTTPS: the client builds; the request fails, typed, saying what to do, after one attempt.
    let (cert, key, _) = certificate();
    let url = https_server(cert, key);
    let error = ping(&url).await.expect_err("no server can be trusted");
    match &error {
        ApiError::TlsSetup { kind, endpoint, message } => {
            assert_eq!(*kind, TlsSetupKind::NoRootCertificates);
            assert_eq!(endpoint, "GET /ping");
            assert!(message.contains("ca-certificates") && message.contains("SSL_CERT_FILE"), "{message}");
        }
        other => panic!("expected TlsSetup, got {other:?}"),
    }
    assert!(error.is_client_side(), "nothing was sent");
}

#[test]
fn with_one_trusted_root_https_is_verified_by_the_platform_verifier() {
    let dir = scratch();
    // The child writes the certificate there after its client is built: the store is read at the handshake.
    run_child("child_with_one_trusted_root", "one-root", &dir.join("trusted.pem"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
#[ignore = "run by with_one_trusted_root_https_is_verified_by_the_platform_verifier"]
async fn child_with_one_trusted_root() {
    if !is_child("one-root") {
        return;
    }
    let bundle = std::env::var_os("SSL_CERT_FILE").expect("SSL_CERT_FILE is set by the parent");
    let (cert, key, pem) = certificate();
    std::fs::write(&bundle, pem).expect("write the trusted root");
    let trusted = https_server(cert, key);
    let answer = ping(&trusted).await.expect("a server with the trusted certificate is reached");
    assert_eq!(answer, serde_json::json!({ "ok": true }));

    // The attack: a server with any other certificate (a man in the middle) is refused, as a network error.
    let (other_cert, other_key, _) = certificate();
    let impostor = https_server(other_cert, other_key);
    let error = ping(&impostor).await.expect_err("an untrusted certificate is refused");
    assert!(matches!(error, ApiError::Network { .. }), "{error:?}");
    assert!(error.to_string().contains("certificate"), "{error}");
}
