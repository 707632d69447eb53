// The idiomatic Kotlin layer: what every LatchkeyException says to do, whatever its kind.
package com.latchkey.sdk

/**
 * The sentence that says what happened and what to do, for any [LatchkeyException] (the generated
 * `message` lists every field, `kind=…, detail=…`; this is the text to show a user).
 */
val LatchkeyException.detail: String
    get() = when (this) {
        is LatchkeyException.InvalidRequest -> detail
        is LatchkeyException.NotSignedIn -> detail
        is LatchkeyException.UnknownLock -> detail
        is LatchkeyException.NoCredential -> detail
        is LatchkeyException.UnlockInProgress -> detail
        is LatchkeyException.Denied -> detail
        is LatchkeyException.NotFound -> detail
        is LatchkeyException.Backend -> detail
        is LatchkeyException.Network -> detail
        is LatchkeyException.TlsSetup -> detail
        is LatchkeyException.Bluetooth -> detail
        is LatchkeyException.Signer -> detail
        is LatchkeyException.Storage -> detail
        is LatchkeyException.Internal -> detail
    }
