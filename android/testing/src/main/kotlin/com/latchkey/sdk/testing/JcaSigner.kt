// A device key held by the JVM's own crypto (java.security, P-256), implementing the SDK's Signer the way a
// keystore-backed signer does: the platform returns a DER signature and an X.509 public key, and the
// Signer contract wants r || s (low-S) and a compressed point. For JVM tests and desktop samples.
package com.latchkey.sdk.testing

import com.latchkey.sdk.Signer
import java.math.BigInteger
import java.security.KeyPair
import java.security.KeyPairGenerator
import java.security.Signature
import java.security.interfaces.ECPublicKey
import java.security.spec.ECGenParameterSpec

/** A fresh P-256 key in JVM memory. `toString()` never shows the private key. */
class JcaSigner : Signer {
    private val keys: KeyPair = KeyPairGenerator.getInstance("EC").apply {
        initialize(ECGenParameterSpec("secp256r1"))
    }.generateKeyPair()

    override fun publicKey(): ByteArray = compress(keys.public as ECPublicKey)

    override fun sign(message: ByteArray): ByteArray {
        val der = Signature.getInstance("SHA256withECDSA").run {
            initSign(keys.private)
            update(message)
            sign()
        }
        return rawLowS(der)
    }

    override fun toString() = "JcaSigner(P-256)"

    companion object {
        /** The order n of the P-256 group. */
        private val N = BigInteger("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", 16)

        /** A public key as a 33-byte compressed SEC1 point: 0x02 (y even) or 0x03 (y odd), then x. */
        fun compress(key: ECPublicKey): ByteArray {
            val prefix = if (key.w.affineY.testBit(0)) 0x03 else 0x02
            return byteArrayOf(prefix.toByte()) + fixed32(key.w.affineX)
        }

        /** A DER ECDSA signature (SEQUENCE of two INTEGERs) as 64 bytes r || s with s <= n/2. */
        fun rawLowS(der: ByteArray): ByteArray {
            var at = 2
            if (der[1].toInt() and 0x80 != 0) at += der[1].toInt() and 0x7f // long-form length
            fun integer(): BigInteger {
                require(der[at].toInt() == 0x02) { "not a DER INTEGER at $at" }
                val length = der[at + 1].toInt()
                val value = BigInteger(1, der.copyOfRange(at + 2, at + 2 + length))
                at += 2 + length
                return value
            }
            val r = integer()
            var s = integer()
            if (s > N.shiftRight(1)) s = N - s
            return fixed32(r) + fixed32(s)
        }

        private fun fixed32(value: BigInteger): ByteArray {
            val bytes = value.toByteArray().dropWhile { it == 0.toByte() }.toByteArray()
            require(bytes.size <= 32) { "a P-256 value longer than 32 bytes" }
            return ByteArray(32 - bytes.size) + bytes
        }
    }
}
