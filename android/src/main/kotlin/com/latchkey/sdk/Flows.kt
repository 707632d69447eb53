// The idiomatic Kotlin layer over the generated bindings (latchkey.kt, never edited by hand): streams as
// Flows. Suspend functions, AutoCloseable objects and the sealed LatchkeyException hierarchy are generated.
package com.latchkey.sdk

import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.callbackFlow

/**
 * The user's locks: the cache at once, then the backend's answer; the flow then completes. A failed
 * refresh ends the flow after the cache (the cache stays). Canceling the collector stops listening.
 *
 * Values are produced on an SDK background thread: collect on the main dispatcher to update UI.
 */
fun DoorClient.lockUpdates(): Flow<List<Lock>> = callbackFlow {
    val subscription = listenForLocks(object : LocksListener {
        override fun onLocks(locks: List<Lock>) {
            trySend(locks)
        }

        override fun onComplete() {
            channel.close()
        }
    })
    awaitClose { subscription.use { it.cancel() } }
}

/**
 * Unlock events of every unlock (explicit or proximity) from the moment collection starts: `Started`,
 * then `Success`, `Failed` or `Canceled`. The flow never completes on its own; cancel the collector to
 * stop listening.
 */
fun DoorClient.unlockEvents(): Flow<UnlockEvent> = callbackFlow {
    val subscription = listenForUnlockEvents(object : UnlockEventListener {
        override fun onEvent(event: UnlockEvent) {
            trySend(event)
        }
    })
    awaitClose { subscription.use { it.cancel() } }
}
