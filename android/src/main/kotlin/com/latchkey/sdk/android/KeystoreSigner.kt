// The SDK's Android device key: a P-256 key generated inside the Android Keystore (StrongBox when the
// phone has one), used through the SDK's Signer so the private key never leaves the hardware.
package com.latchkey.sdk.android

import android.content.Context
import android.content.pm.PackageManager
import android.os.Build
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyPermanentlyInvalidatedException
import android.security.keystore.KeyProperties
import android.security.keystore.StrongBoxUnavailableException
import android.security.keystore.UserNotAuthenticatedException
import com.latchkey.sdk.LatchkeyException
import com.latchkey.sdk.Signer
import com.latchkey.sdk.SignerErrorKind
import com.latchkey.sdk.p256CompressedPublicKey
import com.latchkey.sdk.p256RawLowSSignature
import java.security.GeneralSecurityException
import java.security.KeyPairGenerator
import java.security.KeyStore
import java.security.ProviderException
import java.security.Signature
import java.security.interfaces.ECPublicKey
import java.security.spec.ECGenParameterSpec

/**
 * A [Signer] over a key of the Android Keystore: pass it to `DoorClient.setup`.
 *
 * `publicKey()` is the 33-byte compressed point; `sign()` runs `SHA256withECDSA` in the keystore and
 * returns 64 bytes `r || s` with low S (both converted by the Rust core: [p256CompressedPublicKey],
 * [p256RawLowSSignature]). Failures are `LatchkeyException.Signer`:
 * `KEY_MISSING` when the key is gone or invalidated (register the device again), `USER_CANCELED` when the
 * keystore needed the user, `KEYSTORE` otherwise. `toString()` shows the alias, never key material.
 */
class KeystoreSigner internal constructor(private val key: DeviceKey) : Signer {
    companion object {
        /** The alias the SDK's device key is stored under unless the app chooses another. */
        const val DEFAULT_ALIAS: String = "com.latchkey.sdk.device-key"

        /**
         * The device key under [alias], generated on first use: in StrongBox when the phone declares
         * `FEATURE_STRONGBOX_KEYSTORE` (falling back to the TEE when StrongBox refuses), else in the TEE.
         * Blocking keystore work: call it off the main thread.
         */
        @JvmStatic
        @JvmOverloads
        fun getOrCreate(context: Context, alias: String = DEFAULT_ALIAS): KeystoreSigner = keystoreCall {
            val keyStore = KeystoreKeys.open()
            if (!keyStore.containsAlias(alias)) {
                KeystoreKeys.generate(alias, KeystoreKeys.hasStrongBox(context), KeystoreKeys::generateInKeystore)
            }
            KeystoreSigner(AndroidKeystoreKey(alias))
        }

        /** Deletes the device key under [alias] (after signing out, for example). */
        @JvmStatic
        @JvmOverloads
        fun delete(alias: String = DEFAULT_ALIAS) = keystoreCall { KeystoreKeys.open().deleteEntry(alias) }
    }

    override fun publicKey(): ByteArray = keystoreCall { p256CompressedPublicKey(key.publicKey().encoded) }

    override fun sign(message: ByteArray): ByteArray = keystoreCall { p256RawLowSSignature(key.signDer(message)) }

    override fun toString() = "KeystoreSigner($key)"
}

/** A P-256 private key the signer uses: the Android Keystore's, or (in tests) a JCA key. */
internal interface DeviceKey {
    /** The public half. */
    fun publicKey(): ECPublicKey

    /** `SHA256withECDSA` over [message], DER-encoded as Java security returns it. */
    fun signDer(message: ByteArray): ByteArray
}

/** The key under [alias] in the Android Keystore. */
internal class AndroidKeystoreKey(private val alias: String) : DeviceKey {
    private fun entry(): KeyStore.PrivateKeyEntry =
        KeystoreKeys.open().getEntry(alias, null) as? KeyStore.PrivateKeyEntry
            ?: throw LatchkeyException.Signer(
                SignerErrorKind.KEY_MISSING,
                "there is no device key under \"$alias\": create it with KeystoreSigner.getOrCreate and register the device again",
            )

    override fun publicKey(): ECPublicKey = entry().certificate.publicKey as? ECPublicKey
        ?: throw LatchkeyException.Signer(SignerErrorKind.INVALID_KEY, "the key under \"$alias\" is not an EC key")

    override fun signDer(message: ByteArray): ByteArray = Signature.getInstance("SHA256withECDSA").run {
        initSign(entry().privateKey)
        update(message)
        sign()
    }

    override fun toString() = "alias=$alias"
}

/** Generation of the device key and the keystore's specification of it. */
internal object KeystoreKeys {
    const val PROVIDER = "AndroidKeyStore"

    fun open(): KeyStore = KeyStore.getInstance(PROVIDER).apply { load(null) }

    /** Whether the phone has a StrongBox keystore (Android 9+ with the feature). */
    fun hasStrongBox(context: Context): Boolean =
        Build.VERSION.SDK_INT >= Build.VERSION_CODES.P &&
            context.packageManager.hasSystemFeature(PackageManager.FEATURE_STRONGBOX_KEYSTORE)

    /** The key's specification: P-256, signing only, SHA-256, in StrongBox when [strongBox]. */
    fun spec(alias: String, strongBox: Boolean): KeyGenParameterSpec =
        KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_SIGN)
            .setAlgorithmParameterSpec(ECGenParameterSpec("secp256r1"))
            .setDigests(KeyProperties.DIGEST_SHA256)
            .apply { if (strongBox && Build.VERSION.SDK_INT >= Build.VERSION_CODES.P) setIsStrongBoxBacked(true) }
            .build()

    /**
     * Generates the key with [generator]; in StrongBox first when [strongBox], again without it when
     * StrongBox refuses (`StrongBoxUnavailableException`). Returns the specification that succeeded.
     */
    fun generate(alias: String, strongBox: Boolean, generator: (KeyGenParameterSpec) -> Unit): KeyGenParameterSpec {
        if (strongBox) {
            val spec = spec(alias, strongBox = true)
            try {
                generator(spec)
                return spec
            } catch (refused: ProviderException) {
                if (!(Build.VERSION.SDK_INT >= Build.VERSION_CODES.P && refused is StrongBoxUnavailableException)) throw refused
            }
        }
        return spec(alias, strongBox = false).also(generator)
    }

    /** The real generator: the Android Keystore provider. */
    fun generateInKeystore(spec: KeyGenParameterSpec) {
        KeyPairGenerator.getInstance(KeyProperties.KEY_ALGORITHM_EC, PROVIDER).run {
            initialize(spec)
            generateKeyPair()
        }
    }
}

/** Runs keystore work, mapping the keystore's exceptions to the SDK's typed signer errors. */
private inline fun <T> keystoreCall(call: () -> T): T = try {
    call()
} catch (typed: LatchkeyException) {
    throw typed
} catch (invalidated: KeyPermanentlyInvalidatedException) {
    throw LatchkeyException.Signer(
        SignerErrorKind.KEY_MISSING,
        "the device key was invalidated (the lock screen changed): create a new one and register the device again",
    )
} catch (locked: UserNotAuthenticatedException) {
    throw LatchkeyException.Signer(SignerErrorKind.USER_CANCELED, "the device key needs the user to unlock the phone first")
} catch (failure: GeneralSecurityException) {
    throw LatchkeyException.Signer(SignerErrorKind.KEYSTORE, "the Android Keystore failed: ${failure.javaClass.simpleName}")
} catch (failure: ProviderException) {
    throw LatchkeyException.Signer(SignerErrorKind.KEYSTORE, "the Android Keystore failed: ${failure.javaClass.simpleName}")
} catch (failure: java.io.IOException) {
    throw LatchkeyException.Signer(SignerErrorKind.KEYSTORE, "the Android Keystore could not be read: ${failure.javaClass.simpleName}")
}
