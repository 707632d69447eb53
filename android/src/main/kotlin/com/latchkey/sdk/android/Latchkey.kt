// The SDK's one start-up call on Android: hands the app's context to the certificate verifier of the SDK's
// HTTP client, which checks HTTPS servers with Android's own trust store (user and enterprise CAs included).
package com.latchkey.sdk.android

import android.content.Context

/**
 * Call [initialize] once, before the first request to an `https://` backend — `Application.onCreate` is the
 * place. Until then such requests fail with `LatchkeyException.TlsSetup` of kind `ANDROID_NOT_INITIALIZED`
 * (never a crash); `http://` addresses (a simulator) work without it.
 */
object Latchkey {
    /** The native library of the SDK (the one the generated bindings load through JNA). */
    private const val LIBRARY = "latchkey_ffi"

    @Volatile
    private var initialized = false

    /**
     * Gives the SDK the application context (kept for the life of the process; an Activity passed here is
     * replaced by its application context). Safe to call more than once and from any thread.
     *
     * @throws IllegalStateException if the native library could not be loaded or refused the context.
     */
    @JvmStatic
    fun initialize(context: Context) {
        if (initialized) return
        synchronized(this) {
            if (initialized) return
            try {
                System.loadLibrary(LIBRARY)
                nativeInitialize(context.applicationContext ?: context)
            } catch (error: UnsatisfiedLinkError) {
                throw IllegalStateException("Latchkey.initialize: the native library $LIBRARY could not be loaded", error)
            } catch (error: RuntimeException) {
                throw IllegalStateException("Latchkey.initialize: ${error.message}", error)
            }
            initialized = true
        }
    }

    /** Whether [initialize] has run in this process. */
    @JvmStatic
    val isInitialized: Boolean
        get() = initialized

    @JvmStatic
    private external fun nativeInitialize(context: Context)
}
