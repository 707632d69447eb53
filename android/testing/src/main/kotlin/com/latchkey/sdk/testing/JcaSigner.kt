// A device key held by the JVM's own crypto (java.security, P-256), implementing the SDK's Signer the way a
// keystore-backed signer does: the platform returns a DER signature and an X.509 public key, which the Rust
// core's p256RawLowSSignature and p256CompressedPublicKey turn into what the Signer contract wants. For JVM tests
// and desktop samples.
package com.latchkey.sdk.testing

import com.latchkey.sdk.Signer
import com.latchkey.sdk.p256CompressedPublicKey
import com.latchkey.sdk.p256RawLowSSignature
import java.security.KeyPair
import java.security.KeyPairGenerator
import java.security.Signature
import java.security.spec.ECGenParameterSpec

/** A fresh P-256 key in JVM memory. `toString()` never shows the private key. */
class JcaSigner : Signer {
    private val keys: KeyPair = KeyPairGenerator.getInstance("EC").apply {
        initialize(ECGenParameterSpec("secp256r1"))
    }.generateKeyPair()

    override fun publicKey(): ByteArray = p256CompressedPublicKey(keys.public.encoded)

    override fun sign(message: ByteArray): ByteArray {
        val der = Signature.getInstance("SHA256withECDSA").run {
            initSign(keys.private)
            update(message)
            sign()
        }
        return p256RawLowSSignature(der)
    }

    override fun toString() = "JcaSigner(P-256)"
}
