// The keystore-to-contract encodings, done by the Rust core (p256RawLowSSignature, p256CompressedPublicKey)
// and called through the generated bindings, with real JCA P-256 keys: DER to r || s with low S, compressed public
// keys from X.509 encodings, and malformed keystore output refused typed. It runs in Robolectric's sandbox like the
// other tests of this JVM although it needs no Android: loaded outside it, the generated bindings would be a second
// copy in the process, whose start-up registers its own callback tables with the Rust library in place of the
// sandbox copy's, and the native transports and signers of the tests after it would no longer be reached.
package com.latchkey.sdk.android

import com.latchkey.sdk.LatchkeyException
import com.latchkey.sdk.SignerErrorKind
import com.latchkey.sdk.p256CompressedPublicKey
import com.latchkey.sdk.p256RawLowSSignature
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.Config
import java.math.BigInteger
import java.security.Signature

@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], manifest = Config.NONE)
class KeystoreEncodingTest {
    /** The order n of the P-256 group. */
    private val n = BigInteger("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", 16)

    /** 64 bytes `r || s` back to DER, for verifying with `java.security.Signature`. */
    private fun der(raw: ByteArray): ByteArray {
        fun integer(bytes: ByteArray): ByteArray {
            val value = BigInteger(1, bytes).toByteArray() // minimal, with a 0x00 when the top bit is set
            return byteArrayOf(0x02, value.size.toByte()) + value
        }
        val body = integer(raw.copyOfRange(0, 32)) + integer(raw.copyOfRange(32, 64))
        return byteArrayOf(0x30, body.size.toByte()) + body
    }

    private fun verifies(key: JcaDeviceKey, message: ByteArray, raw: ByteArray): Boolean =
        Signature.getInstance("SHA256withECDSA").run {
            initVerify(key.keys.public)
            update(message)
            verify(der(raw))
        }

    @Test
    fun `every signature becomes 64 bytes with low S that still verifies`() {
        val key = JcaDeviceKey()
        val signer = KeystoreSigner(key)
        repeat(64) { round ->
            val message = "challenge $round".toByteArray()
            val raw = signer.sign(message)
            assertEquals(64, raw.size)
            val s = BigInteger(1, raw.copyOfRange(32, 64))
            assertTrue("s must be at most n/2 (round $round)", s <= n.shiftRight(1))
            assertTrue("the low-S signature verifies (round $round)", verifies(key, message, raw))
        }
    }

    @Test
    fun `a high-S DER signature is normalised to the same low-S signature`() {
        val key = JcaDeviceKey()
        val message = "unlock".toByteArray()
        val low = p256RawLowSSignature(key.signDer(message))
        val r = low.copyOfRange(0, 32)
        val highS = n - BigInteger(1, low.copyOfRange(32, 64))
        val high = der(r + highS.toByteArray().takeLast(32).toByteArray())
        assertTrue("the high-S form is a valid signature too", Signature.getInstance("SHA256withECDSA").run {
            initVerify(key.keys.public)
            update(message)
            verify(high)
        })
        assertArrayEquals(low, p256RawLowSSignature(high))
    }

    @Test
    fun `short r and s are left-padded to 32 bytes`() {
        val r = BigInteger.valueOf(0x1234)
        val s = BigInteger.valueOf(0x56)
        val raw = p256RawLowSSignature(byteArrayOf(0x30, 7, 0x02, 2, 0x12, 0x34, 0x02, 1, 0x56))
        assertEquals(64, raw.size)
        assertEquals(r, BigInteger(1, raw.copyOfRange(0, 32)))
        assertEquals(s, BigInteger(1, raw.copyOfRange(32, 64)))
    }

    @Test
    fun `the public key is compressed with the parity of y`() {
        repeat(16) {
            val key = JcaDeviceKey()
            val compressed = p256CompressedPublicKey(key.publicKey().encoded)
            assertEquals(33, compressed.size)
            val odd = key.publicKey().w.affineY.testBit(0)
            assertEquals(if (odd) 3 else 2, compressed[0].toInt())
            assertEquals(key.publicKey().w.affineX, BigInteger(1, compressed.copyOfRange(1, 33)))
        }
    }

    @Test
    fun `malformed keystore output is an InvalidKey signer error, not a crash`() {
        val bad = listOf(
            byteArrayOf(),
            byteArrayOf(0x31, 0),
            byteArrayOf(0x30, 6, 0x02, 1, 1, 0x02, 1),
            byteArrayOf(0x30, 6, 0x02, 1, 1, 0x02, 1, 1, 0),
            byteArrayOf(0x30, 6, 0x02, 1, 0, 0x02, 1, 1), // r = 0
            byteArrayOf(0x30, 6, 0x02, 1, 1, 0x02, 1, 0xff.toByte()), // s negative
        )
        for (der in bad) {
            try {
                p256RawLowSSignature(der)
                fail("accepted ${der.joinToString()}")
            } catch (error: LatchkeyException.Signer) {
                assertEquals(SignerErrorKind.INVALID_KEY, error.kind)
            }
        }
    }
}
