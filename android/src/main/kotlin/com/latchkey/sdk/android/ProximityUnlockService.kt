// Proximity unlock kept alive by a foreground service: Android stops background BLE scanning of apps that are
// not in the foreground, so hands-free unlock runs while a notification shows that it does.
package com.latchkey.sdk.android

import android.app.Notification
import android.app.Service
import android.content.Context
import android.content.Intent
import android.content.pm.ServiceInfo
import android.os.Build
import android.os.IBinder
import com.latchkey.sdk.DoorClient
import com.latchkey.sdk.ProximitySettings

/**
 * Runs a [DoorClient]'s proximity unlock from a foreground service (type `connectedDevice`, declared in the SDK's
 * manifest). [start] starts proximity unlock at once — so a client that cannot (signed out) throws its
 * `LatchkeyException` to the caller and no service starts — then starts this service, which shows the app's
 * [Notification] for as long as proximity unlock runs. [stop] (or the user stopping the service) stops both.
 * Unlock events reach the app through the client's `unlockEvents()` as usual.
 *
 * Battery: each round scans for `scanTimeoutMs` every `intervalMs`, so the radio is on for
 * `scanTimeoutMs / (scanTimeoutMs + intervalMs)` of the time; keep the interval long unless the app knows the user is
 * at the door. Relay: a phone that unlocks without a tap can be relayed (an attacker near the door forwards the
 * radio to an attacker near the phone); `minRssi` limits the distance the phone accepts, not the relay, so apps
 * offer proximity unlock as an opt-in and docs/android.md says what it protects against.
 */
class ProximityUnlockService : Service() {
    companion object {
        /** The id of the app's notification while proximity unlock runs. */
        const val NOTIFICATION_ID: Int = 0x4C4B

        /** The client and notification of the running session (one per process). */
        @Volatile
        private var session: Session? = null

        private class Session(val client: DoorClient, val notification: Notification)

        /**
         * Starts proximity unlock of [client] with [settings] and the foreground service showing [notification]
         * (build it on a channel the app created; Android 13+ also needs the POST_NOTIFICATIONS permission to show
         * it). Throws the client's `LatchkeyException` if proximity unlock cannot start; then no service starts.
         */
        @JvmStatic
        fun start(context: Context, client: DoorClient, settings: ProximitySettings, notification: Notification) {
            client.startProximityUnlock(settings)
            session = Session(client, notification)
            context.startForegroundService(Intent(context, ProximityUnlockService::class.java))
        }

        /** Stops proximity unlock and the service (an unlock already started finishes). */
        @JvmStatic
        fun stop(context: Context) {
            session?.client?.stopProximityUnlock()
            context.stopService(Intent(context, ProximityUnlockService::class.java))
        }
    }

    override fun onBind(intent: Intent?): IBinder? = null

    override fun onStartCommand(intent: Intent?, flags: Int, startId: Int): Int {
        val current = session
        if (current == null || !current.client.proximityUnlockRunning()) {
            stopSelf(startId)
            return START_NOT_STICKY
        }
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.Q) {
            startForeground(NOTIFICATION_ID, current.notification, ServiceInfo.FOREGROUND_SERVICE_TYPE_CONNECTED_DEVICE)
        } else {
            startForeground(NOTIFICATION_ID, current.notification)
        }
        // Not restarted after the process dies: proximity unlock needs the app's signed-in client again.
        return START_NOT_STICKY
    }

    override fun onDestroy() {
        session?.client?.stopProximityUnlock()
        session = null
        super.onDestroy()
    }
}
