// What a keystore hands back, in the shape the SDK's Signer contract wants: an X.509 EC public key as a
// 33-byte compressed SEC1 point, and a DER ECDSA signature as 64 bytes r || s with low S. Pure code.
package com.latchkey.sdk.android

import com.latchkey.sdk.LatchkeyException
import com.latchkey.sdk.SignerErrorKind
import java.math.BigInteger
import java.security.interfaces.ECPublicKey

/** P-256 encodings between the Java security APIs and the Latchkey `Signer` contract. */
object SignatureEncoding {
    /** The order n of the P-256 group. */
    val P256_ORDER: BigInteger = BigInteger("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", 16)
    private val HALF_ORDER: BigInteger = P256_ORDER.shiftRight(1)

    /** [key] as 0x02 (y even) or 0x03 (y odd), then x in 32 bytes. */
    fun compressedPublicKey(key: ECPublicKey): ByteArray {
        if (key.params.order != P256_ORDER) throw invalid("the device key is not a P-256 key")
        val prefix: Byte = if (key.w.affineY.testBit(0)) 0x03 else 0x02
        return byteArrayOf(prefix) + fixed32(key.w.affineX)
    }

    /**
     * A DER `SEQUENCE { INTEGER r, INTEGER s }` as 64 bytes `r || s`, with `s` replaced by `n - s` when it is
     * above n/2 (the lock accepts only low-S signatures; keystores may return either).
     */
    fun rawLowS(der: ByteArray): ByteArray {
        val reader = DerReader(der)
        reader.expect(0x30, "SEQUENCE")
        val sequenceEnd = reader.length() + reader.at
        if (sequenceEnd != der.size) throw invalid("the keystore's signature has trailing or missing bytes")
        val r = reader.integer()
        var s = reader.integer()
        if (reader.at != der.size) throw invalid("the keystore's signature has extra fields")
        if (r.signum() <= 0 || r >= P256_ORDER || s.signum() <= 0 || s >= P256_ORDER) {
            throw invalid("the keystore's signature is out of range for P-256")
        }
        if (s > HALF_ORDER) s = P256_ORDER - s
        return fixed32(r) + fixed32(s)
    }

    /** 64 bytes `r || s` back to DER (for verifying with `java.security.Signature`). */
    fun der(raw: ByteArray): ByteArray {
        require(raw.size == 64) { "a raw P-256 signature is 64 bytes, not ${raw.size}" }
        fun integer(bytes: ByteArray): ByteArray {
            val value = BigInteger(1, bytes).toByteArray() // minimal, with a 0x00 when the top bit is set
            return byteArrayOf(0x02, value.size.toByte()) + value
        }
        val body = integer(raw.copyOfRange(0, 32)) + integer(raw.copyOfRange(32, 64))
        return byteArrayOf(0x30, body.size.toByte()) + body
    }

    private fun fixed32(value: BigInteger): ByteArray {
        val bytes = value.toByteArray().let { if (it.size > 1 && it[0] == 0.toByte()) it.copyOfRange(1, it.size) else it }
        if (bytes.size > 32) throw invalid("a P-256 value longer than 32 bytes")
        return ByteArray(32 - bytes.size) + bytes
    }

    internal fun invalid(detail: String) = LatchkeyException.Signer(SignerErrorKind.INVALID_KEY, detail)

    /** Reads the few DER forms an ECDSA signature uses. */
    private class DerReader(private val der: ByteArray) {
        var at = 0

        fun expect(tag: Int, what: String) {
            if (at >= der.size || der[at].toInt() and 0xff != tag) throw invalid("the keystore's signature is not DER ($what expected)")
            at += 1
        }

        fun length(): Int {
            if (at >= der.size) throw invalid("the keystore's signature is cut short")
            val first = der[at++].toInt() and 0xff
            if (first < 0x80) return first
            val count = first and 0x7f
            if (count !in 1..2 || at + count > der.size) throw invalid("the keystore's signature has a bad DER length")
            var length = 0
            repeat(count) { length = (length shl 8) or (der[at++].toInt() and 0xff) }
            return length
        }

        fun integer(): BigInteger {
            expect(0x02, "INTEGER")
            val length = length()
            if (length == 0 || at + length > der.size) throw invalid("the keystore's signature has a bad INTEGER")
            val value = BigInteger(der.copyOfRange(at, at + length))
            at += length
            return value
        }
    }
}
