// KeystoreSigner's Android side under Robolectric: the KeyGenParameterSpec it asks the keystore for, the
// StrongBox decision from the package manager's feature, and the fallback when StrongBox refuses.
package com.latchkey.sdk.android

import android.content.pm.PackageManager
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import android.security.keystore.StrongBoxUnavailableException
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import java.security.spec.ECGenParameterSpec

@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35], manifest = Config.NONE)
class KeystoreSignerTest {
    @Test
    fun `the key is P-256, for signing only, with SHA-256`() {
        val spec = KeystoreKeys.spec("device", strongBox = false)
        assertEquals("device", spec.keystoreAlias)
        assertEquals(KeyProperties.PURPOSE_SIGN, spec.purposes)
        assertArrayEquals(arrayOf(KeyProperties.DIGEST_SHA256), spec.digests)
        assertEquals("secp256r1", (spec.algorithmParameterSpec as ECGenParameterSpec).name)
        assertFalse(spec.isStrongBoxBacked)
    }

    @Test
    fun `StrongBox is used when the phone declares it`() {
        val context = RuntimeEnvironment.getApplication()
        assertFalse(KeystoreKeys.hasStrongBox(context))
        shadowOf(context.packageManager).setSystemFeature(PackageManager.FEATURE_STRONGBOX_KEYSTORE, true)
        assertTrue(KeystoreKeys.hasStrongBox(context))
        val asked = mutableListOf<KeyGenParameterSpec>()
        val used = KeystoreKeys.generate("device", strongBox = true) { asked += it }
        assertTrue(used.isStrongBoxBacked)
        assertEquals(1, asked.size)
    }

    @Test
    fun `when StrongBox refuses, the key is generated in the TEE instead`() {
        val asked = mutableListOf<KeyGenParameterSpec>()
        val used = KeystoreKeys.generate("device", strongBox = true) { spec ->
            asked += spec
            if (spec.isStrongBoxBacked) throw StrongBoxUnavailableException()
        }
        assertEquals(listOf(true, false), asked.map { it.isStrongBoxBacked })
        assertFalse(used.isStrongBoxBacked)
    }

    @Test
    fun `the signer shows its key's alias, never key material`() {
        val signer = KeystoreSigner(AndroidKeystoreKey("com.example.key"))
        assertEquals("KeystoreSigner(alias=com.example.key)", signer.toString())
    }
}
