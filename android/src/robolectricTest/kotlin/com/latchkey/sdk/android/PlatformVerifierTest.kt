// Latchkey.initialize and the vendored Kotlin half of rustls-platform-verifier under Robolectric: the JNI
// entry point of the Rust library receives the application context, and the verifier class the Rust side calls
// by name (android/src/main/kotlin/org/rustls/platformverifier) loads against the Android framework, keeps the
// JNI contract of the crate version in Cargo.lock, and refuses what it must refuse before asking the trust store.
package com.latchkey.sdk.android

import android.content.Context
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.annotation.Config
import java.io.ByteArrayInputStream
import java.lang.reflect.Method
import java.lang.reflect.Modifier
import java.security.cert.CertificateFactory
import java.security.cert.X509Certificate

@RunWith(RobolectricTestRunner::class)
@Config(sdk = [26, 35], manifest = Config.NONE)
class PlatformVerifierTest {
    /** The statuses of the crate's Kotlin enum, as the Rust side (0.7.1, verification/android.rs) reads them. */
    private val expired = 2
    private val invalidEncoding = 5

    /** The server-auth EKU the Rust side passes as allowedEkus. */
    private val serverAuth = "1.3.6.1.5.5.7.3.1"

    /** A self-signed P-256 certificate for localhost, valid for ten years from December 2026. */
    private val certificate: X509Certificate by lazy {
        val pem = """
            -----BEGIN CERTIFICATE-----
            MIIBfDCCASOgAwIBAgIUFIIeirU3Uj6ikWdpc1SclSGKWkEwCgYIKoZIzj0EAwIw
            FDESMBAGA1UEAwwJbG9jYWxob3N0MB4XDTI2MTIwODAxMzQyNVoXDTM2MTIwNTAx
            MzQyNVowFDESMBAGA1UEAwwJbG9jYWxob3N0MFkwEwYHKoZIzj0CAQYIKoZIzj0D
            AQcDQgAEGgRepmGpRbgarljtLuJP6y4GrFJj1H+7qsYh9t4FO38+tQTDZZ1lzvG2
            h745ZL23il7FU6XRub7kvsT1nqO5Z6NTMFEwHQYDVR0OBBYEFIAzfnhbrSia+Y1v
            DOV9YOz6ObPeMB8GA1UdIwQYMBaAFIAzfnhbrSia+Y1vDOV9YOz6ObPeMA8GA1Ud
            EwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDRwAwRAIgc/+m8Bh2bIw03wNUPZ3+vtN8
            TFCbCz2I9Wdb7cZAktkCIHSE1YH6QwONovfEPAbnD8ew8TXiCZrVgs7h5HNYAJii
            -----END CERTIFICATE-----
        """.trimIndent()
        CertificateFactory.getInstance("X.509").generateCertificate(ByteArrayInputStream(pem.toByteArray())) as X509Certificate
    }

    /** CertificateVerifier.verifyCertificateChain with the exact descriptor the Rust side calls through JNI. */
    private val verify: Method by lazy {
        val verifier = Class.forName("org.rustls.platformverifier.CertificateVerifier")
        verifier.getDeclaredMethod(
            "verifyCertificateChain",
            Context::class.java,
            String::class.java,
            String::class.java,
            Array<String>::class.java,
            ByteArray::class.java,
            Long::class.javaPrimitiveType,
            Array<ByteArray>::class.java,
        ).also { it.isAccessible = true }
    }

    /** The status code of one verification, read from the result's int field `code` as the Rust side does. */
    private fun status(chain: Array<ByteArray>, timeMs: Long): Int {
        val result = verify.invoke(null, RuntimeEnvironment.getApplication(), "localhost", "RSA", arrayOf(serverAuth), null, timeMs, chain)
        val code = result.javaClass.getDeclaredField("code").also { it.isAccessible = true }
        return code.getInt(result)
    }

    @Test
    fun `initialize hands the application context to the native library, once`() {
        val app = RuntimeEnvironment.getApplication()
        Latchkey.initialize(app)
        assertTrue(Latchkey.isInitialized)
        Latchkey.initialize(app)
        assertTrue(Latchkey.isInitialized)
    }

    @Test
    fun `the verifier keeps the JNI contract of the Rust side`() {
        assertTrue("a static method, as Rust calls it", Modifier.isStatic(verify.modifiers))
        assertEquals("org.rustls.platformverifier.VerificationResult", verify.returnType.name)
        assertEquals(Int::class.javaPrimitiveType, verify.returnType.getDeclaredField("code").type)
    }

    @Test
    fun `a chain that is not DER is refused`() {
        assertEquals(invalidEncoding, status(arrayOf(byteArrayOf(0x30, 0x03, 0x01)), System.currentTimeMillis()))
    }

    @Test
    fun `a certificate outside its validity at the handshake's time is refused as expired`() {
        val chain = arrayOf(certificate.encoded)
        val day = 24L * 3600 * 1000
        assertEquals(expired, status(chain, certificate.notAfter.time + day))
        assertEquals(expired, status(chain, certificate.notBefore.time - day))
    }
}
