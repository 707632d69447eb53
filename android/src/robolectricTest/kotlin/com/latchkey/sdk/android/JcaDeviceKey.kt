// A device key held by the JVM's own crypto, standing in for the Android Keystore (which Robolectric does
// not provide): KeystoreSigner runs its real encoding path over the DER signatures Java security returns.
package com.latchkey.sdk.android

import java.security.KeyPair
import java.security.KeyPairGenerator
import java.security.Signature
import java.security.interfaces.ECPublicKey
import java.security.spec.ECGenParameterSpec

/** A fresh P-256 key in JVM memory, signing with `SHA256withECDSA` like the keystore. */
class JcaDeviceKey : DeviceKey {
    val keys: KeyPair = KeyPairGenerator.getInstance("EC").apply { initialize(ECGenParameterSpec("secp256r1")) }.generateKeyPair()

    /** How many signatures were asked for. */
    @Volatile
    var signatures = 0
        private set

    override fun publicKey(): ECPublicKey = keys.public as ECPublicKey

    override fun signDer(message: ByteArray): ByteArray {
        signatures += 1
        return Signature.getInstance("SHA256withECDSA").run {
            initSign(keys.private)
            update(message)
            sign()
        }
    }

    override fun toString() = "JcaDeviceKey(P-256)"
}
