//! [`PlatformVerifier`]: how the HTTP client checks a server's certificate, and why building a client never
//! needs the system's root certificates.
//!
//! The certificate is checked by the platform's verifier (`rustls-platform-verifier`: Android's
//! `X509TrustManager`, Apple's Security framework, the system root store on Linux). That verifier is made at
//! the first HTTPS handshake, not when the client is built: a client for an `http://` simulator works on a
//! system with no root certificates at all (a fresh container, a minimal root), and on such a system the first
//! HTTPS request fails with [`TlsSetupFailure`] ([`super::ApiError::TlsSetup`]) saying what to install. On
//! Android the verifier calls into the JVM, which the app hands over first (`Latchkey.initialize(context)`,
//! whose JNI entry point in the bindings passes the JVM and the context to the verifier and then calls
//! [`android_verifier_initialized`]); until then HTTPS requests fail with
//! [`TlsSetupKind::AndroidNotInitialized`] instead of the verifier's panic.
//!
//! Until the platform verifier exists nothing is trusted: every failure to make it fails the handshake. A
//! verifier that could be made is kept for the life of the client; one that could not is tried again at the next
//! handshake (the app may have been initialised, certificates installed, in between).

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, Error, OtherError, SignatureScheme};

/// Why no HTTPS connection could be verified on this device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsSetupKind {
    /// The system has no root certificates the SDK can read (a minimal Linux root without
    /// `ca-certificates`, an unreadable `SSL_CERT_FILE`).
    NoRootCertificates,
    /// Android: the app has not called `Latchkey.initialize(context)` before its first HTTPS request.
    AndroidNotInitialized,
}

impl fmt::Display for TlsSetupKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TlsSetupKind::NoRootCertificates => "no root certificates",
            TlsSetupKind::AndroidNotInitialized => "Android verifier not initialised",
        })
    }
}

/// The failure a handshake ends with when the platform verifier cannot be made. It travels inside rustls's
/// and reqwest's errors; [`super::ApiError::from_transport`] finds it again.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub(crate) struct TlsSetupFailure {
    pub(crate) kind: TlsSetupKind,
    /// What happened and what to do.
    pub(crate) message: String,
}

impl TlsSetupFailure {
    fn no_root_certificates(platform: &Error) -> TlsSetupFailure {
        TlsSetupFailure {
            kind: TlsSetupKind::NoRootCertificates,
            message: format!(
                "the system's root certificates could not be loaded ({platform}), so no HTTPS server can be \
                 trusted: install the system's CA certificates (Debian: ca-certificates) or point SSL_CERT_FILE \
                 at a PEM bundle; http:// addresses are not affected"
            ),
        }
    }

    fn android_not_initialized() -> TlsSetupFailure {
        TlsSetupFailure {
            kind: TlsSetupKind::AndroidNotInitialized,
            message: "HTTPS needs Android's certificate verifier, which has not been given the app's context: \
                      call Latchkey.initialize(context) (package com.latchkey.sdk.android) once before the first \
                      request, for example in Application.onCreate"
                .to_owned(),
        }
    }

    /// The rustls error that carries this failure through the handshake.
    fn into_tls_error(self) -> Error {
        Error::Other(OtherError(Arc::new(self)))
    }
}

/// Whether the platform verifier was handed the JVM (Android).
static ANDROID_VERIFIER_INITIALIZED: AtomicBool = AtomicBool::new(false);

/// Records that Android's JVM and the app's context were handed to the platform verifier
/// (`rustls_platform_verifier::android::init_with_refs`); called by the bindings' `Latchkey.initialize`. HTTPS
/// requests made before it on Android fail with [`TlsSetupKind::AndroidNotInitialized`]. Other platforms do not
/// need it.
pub fn android_verifier_initialized() {
    ANDROID_VERIFIER_INITIALIZED.store(true, Ordering::Release);
}

/// Whether this platform's verifier needs the JVM first.
const NEEDS_JVM: bool = cfg!(target_os = "android");

/// Refuses to make the platform verifier when it needs a JVM it was not given (it would panic).
fn check_jvm(needs_jvm: bool, initialized: bool) -> Result<(), TlsSetupFailure> {
    if needs_jvm && !initialized {
        return Err(TlsSetupFailure::android_not_initialized());
    }
    Ok(())
}

/// The server-certificate verifier of the HTTP client (see the module's doc).
pub(crate) struct PlatformVerifier {
    provider: Arc<CryptoProvider>,
    platform: Mutex<Option<Arc<rustls_platform_verifier::Verifier>>>,
}

impl fmt::Debug for PlatformVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlatformVerifier").finish_non_exhaustive()
    }
}

impl PlatformVerifier {
    /// A verifier that makes the platform's at the first handshake. Never fails.
    pub(crate) fn new(provider: Arc<CryptoProvider>) -> PlatformVerifier {
        PlatformVerifier { provider, platform: Mutex::new(None) }
    }

    /// The platform's verifier, made now if it was not yet.
    fn platform(&self) -> Result<Arc<rustls_platform_verifier::Verifier>, TlsSetupFailure> {
        let mut slot = self.platform.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(verifier) = slot.as_ref() {
            return Ok(verifier.clone());
        }
        check_jvm(NEEDS_JVM, ANDROID_VERIFIER_INITIALIZED.load(Ordering::Acquire))?;
        let verifier = rustls_platform_verifier::Verifier::new(self.provider.clone())
            .map_err(|error| TlsSetupFailure::no_root_certificates(&error))?;
        let verifier = Arc::new(verifier);
        *slot = Some(verifier.clone());
        Ok(verifier)
    }
}

impl ServerCertVerifier for PlatformVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let platform = self.platform().map_err(|failure| {
            tracing::warn!(kind = %failure.kind, "no HTTPS certificate verifier: {failure}");
            failure.into_tls_error()
        })?;
        platform.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    // The handshake's signatures are checked with the client's own provider, as the platform verifiers do
    // themselves: they need no root store, so they never wait for the platform's verifier.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// The [`TlsSetupFailure`] somewhere in `error`'s chain of causes, if the failure was one.
pub(crate) fn setup_failure(error: &(dyn std::error::Error + 'static)) -> Option<TlsSetupFailure> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        // An io::Error hides the error it wraps from `source()` (it returns the wrapped error's own source), and
        // the TLS stack wraps io::Errors in io::Errors: look inside each.
        let mut candidate = current;
        loop {
            if let Some(failure) = candidate.downcast_ref::<TlsSetupFailure>() {
                return Some(failure.clone());
            }
            if let Some(Error::Other(OtherError(inner))) = candidate.downcast_ref::<Error>()
                && let Some(failure) = inner.downcast_ref::<TlsSetupFailure>()
            {
                return Some(failure.clone());
            }
            match candidate.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
                Some(inner) => candidate = inner,
                None => break,
            }
        }
        cause = current.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_is_found_inside_rustls_and_io_errors() {
        let failure = TlsSetupFailure::no_root_certificates(&Error::General("no certificates".into()));
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, failure.clone().into_tls_error());
        let io = std::io::Error::other(io);
        assert_eq!(setup_failure(&io), Some(failure.clone()));
        assert_eq!(setup_failure(&failure.clone().into_tls_error()), Some(failure));
        let other = std::io::Error::new(std::io::ErrorKind::InvalidData, Error::DecryptError);
        assert_eq!(setup_failure(&other), None);
    }

    #[test]
    fn without_the_jvm_android_s_verifier_is_never_made_and_the_error_says_which_call_is_missing() {
        let refused = check_jvm(true, false).expect_err("Android without Latchkey.initialize");
        assert_eq!(refused.kind, TlsSetupKind::AndroidNotInitialized);
        assert!(refused.message.contains("Latchkey.initialize(context)"), "{}", refused.message);
        assert_eq!(check_jvm(true, true), Ok(()));
        assert_eq!(check_jvm(false, false), Ok(()), "other platforms need no JVM");
    }
}
