// ProximityUnlockService under Robolectric with a DoorClient of a real simulator (over its HTTP radio): starting it
// starts proximity unlock and a foreground service showing the app's notification, the lock in range is opened,
// and destroying the service stops proximity unlock; a client that cannot start proximity unlock throws to the
// caller and no service starts.
package com.latchkey.sdk.android

import android.app.Notification
import android.app.NotificationChannel
import android.app.NotificationManager
import com.latchkey.sdk.LatchkeyException
import com.latchkey.sdk.ProximitySettings
import com.latchkey.sdk.UnlockEvent
import com.latchkey.sdk.testing.SimulatorRadioTransport
import com.latchkey.sdk.unlockEvents
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertSame
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config

@RunWith(RobolectricTestRunner::class)
@Config(sdk = [26, 35], manifest = Config.NONE)
class ProximityUnlockServiceTest {
    private val app = RuntimeEnvironment.getApplication()

    /** Fast rounds, so the test does not wait for the default one-second interval. */
    private val settings = ProximitySettings(intervalMs = 200uL, scanTimeoutMs = 1_000uL, cooldownMs = 60_000uL, minRssi = -100)

    private fun notification(): Notification {
        val channel = NotificationChannel("unlock", "Hands-free unlock", NotificationManager.IMPORTANCE_LOW)
        app.getSystemService(NotificationManager::class.java)!!.createNotificationChannel(channel)
        return Notification.Builder(app, "unlock").setContentTitle("Hands-free unlock is on").build()
    }

    @Test
    fun `the service keeps proximity unlock in the foreground, opens the lock in range and stops it when destroyed`() =
        runBlocking {
            val world = SimWorld.create()
            val client = world.phone(SimulatorRadioTransport(world.baseUrl), KeystoreSigner(JcaDeviceKey()))
            client.use {
                client.fetchLocks()
                val events = async(Dispatchers.Unconfined) { client.unlockEvents().take(2).toList() }
                val shown = notification()
                ProximityUnlockService.start(app, client, settings, shown)
                assertTrue("proximity unlock runs once started", client.proximityUnlockRunning())

                val intent = shadowOf(app).nextStartedService
                assertNotNull("a foreground service was started", intent)
                val controller = Robolectric.buildService(ProximityUnlockService::class.java, intent).create()
                controller.startCommand(0, 1)
                val service = shadowOf(controller.get())
                assertSame("the app's notification is shown", shown, service.lastForegroundNotification)
                assertEquals(ProximityUnlockService.NOTIFICATION_ID, service.lastForegroundNotificationId)

                assertEquals(
                    "the lock in range is opened without a tap",
                    listOf(UnlockEvent.Started(world.door), UnlockEvent.Success(world.door)),
                    withTimeout(20_000) { events.await() },
                )
                controller.destroy()
                assertFalse("destroying the service stops proximity unlock", client.proximityUnlockRunning())
            }
        }

    @Test
    fun `a client that cannot start proximity unlock throws to the caller and starts no service`() = runBlocking {
        val world = SimWorld.create()
        val client = world.phone(SimulatorRadioTransport(world.baseUrl), KeystoreSigner(JcaDeviceKey()))
        client.use {
            client.clear()
            try {
                ProximityUnlockService.start(app, client, settings, notification())
                fail("a signed-out client must not start proximity unlock")
            } catch (expected: LatchkeyException.NotSignedIn) {
                // What the app shows: sign in again.
            }
            assertNull("no service was started", shadowOf(app).nextStartedService)
        }
    }
}
