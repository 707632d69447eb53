// Stands in for the BuildConfig the upstream Gradle module generates for CertificateVerifier.kt (vendored
// unchanged beside this file): this SDK ships the verifier's release configuration only, so its test-only
// branches (mock roots) are dead code that R8 removes.
package org.rustls.platformverifier

internal object BuildConfig {
    const val TEST: Boolean = false
}
