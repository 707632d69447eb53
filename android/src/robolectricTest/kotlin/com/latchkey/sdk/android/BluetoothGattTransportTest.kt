// BluetoothGattTransport on the JVM under Robolectric: the real Android framework classes of API 26 and 35
// with Robolectric's Bluetooth shadows, a virtual lock of a running simulator behind the shadow GATT, and
// the Rust core's DoorClient (generated bindings, JNA, the host library) unlocking through the transport.
package com.latchkey.sdk.android

import android.Manifest
import android.app.Application
import android.bluetooth.BluetoothAdapter
import android.bluetooth.BluetoothManager
import com.latchkey.sdk.AccessMethod
import com.latchkey.sdk.AccessResult
import com.latchkey.sdk.BluetoothErrorKind
import com.latchkey.sdk.LatchkeyException
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.After
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config

/** How long any one step may take before the test fails (a hang is a failure, not a wait). */
private const val STEP_MS = 30_000L

@RunWith(RobolectricTestRunner::class)
@Config(sdk = [26, 35], manifest = Config.NONE)
class BluetoothGattTransportTest {
    private lateinit var app: Application
    private lateinit var adapter: BluetoothAdapter
    private val radio = SimulatorRadio(simulatorUrl)
    private val peripherals = mutableListOf<VirtualLockPeripheral>()

    @Before
    fun bluetoothOn() {
        app = RuntimeEnvironment.getApplication()
        adapter = app.getSystemService(BluetoothManager::class.java)!!.adapter
        shadowOf(adapter).setEnabled(true)
        shadowOf(app).grantPermissions(*BluetoothPermissions.required().toTypedArray())
    }

    @After
    fun peripheralsOff() {
        peripherals.forEach { it.close() }
    }

    private fun lock(lockId: ByteArray, offersService: Boolean = true) =
        VirtualLockPeripheral(adapter, radio, lockId, offersService = offersService).also { peripherals += it }

    private inline fun <reified E : Throwable> failure(what: String, block: () -> Unit): E {
        try {
            block()
        } catch (error: Throwable) {
            if (error is E) return error
            throw AssertionError("$what: expected ${E::class.simpleName}, got $error", error)
        }
        fail("$what: expected ${E::class.simpleName}, nothing was thrown")
        error("unreachable")
    }

    @Test
    fun `DoorClient unlocks a virtual lock through the shadow GATT, and the sync brings the unlock to the access log`() =
        runBlocking {
            val world = SimWorld.create()
            val peripheral = lock(world.lockId)
            peripheral.advertise()
            val key = JcaDeviceKey()
            val client = world.phone(BluetoothGattTransport(app), KeystoreSigner(key))
            client.use {
                client.fetchLocks()
                withTimeout(STEP_MS) { client.unlock(world.door) }

                val link = peripheral.connections.first()
                assertEquals("the transport asks for the largest MTU", 517, link.requestedMtu)
                assertTrue("notifications must be enabled through the CCCD", link.subscribed)
                assertTrue("the phone must have written to the lock: ${link.written.size}", link.written.isNotEmpty())
                assertTrue("every packet fits MTU - 3", link.written.all { it.size <= 514 })
                assertTrue("the device key signed through KeystoreSigner", key.signatures >= 1)
                assertTrue("the connection is released after the unlock", link.closed)

                val summary = withTimeout(STEP_MS) { client.sync(world.door) }
                assertEquals("the lock's log reaches the backend: $summary", 0u, summary.logUploadsPending)
                val log = withTimeout(STEP_MS) { client.accessLogs(world.door) }
                assertTrue(
                    "the access log shows a granted BLE unlock: $log",
                    log.any { it.method == AccessMethod.BLE && it.result == AccessResult.GRANTED },
                )
                assertTrue("the sync used a second connection", peripheral.connections.size >= 2)
            }
        }

    @Test
    fun `a scan reports the Latchkey lock by its advertised lock id`() = runBlocking {
        val lockId = ByteArray(16) { (it * 7).toByte() }
        lock(lockId).advertise(rssi = -52)
        val heard = BluetoothGattTransport(app).scan(500uL)
        assertEquals("one lock heard: $heard", 1, heard.size)
        assertArrayEquals(lockId, heard.single().lockId)
        assertEquals(-52, heard.single().rssi.toInt())
    }

    @Test
    fun `without the Bluetooth permissions the transport throws PermissionDenied naming them`() = runBlocking {
        shadowOf(app).denyPermissions(*BluetoothPermissions.required().toTypedArray())
        val error = failure<LatchkeyException.Bluetooth>("connect without permissions") {
            runBlocking { BluetoothGattTransport(app).connect(ByteArray(16), 1_000uL) }
        }
        assertEquals(BluetoothErrorKind.PERMISSION_DENIED, error.kind)
        val expected = if (android.os.Build.VERSION.SDK_INT >= 31) Manifest.permission.BLUETOOTH_CONNECT else Manifest.permission.ACCESS_FINE_LOCATION
        assertTrue("the error names what to request: ${error.detail}", error.detail.contains(expected))
    }

    @Test
    fun `with Bluetooth off the transport throws AdapterOff`() = runBlocking {
        shadowOf(adapter).setEnabled(false)
        val error = failure<LatchkeyException.Bluetooth>("scan with the adapter off") {
            runBlocking { BluetoothGattTransport(app).scan(500uL) }
        }
        assertEquals(BluetoothErrorKind.ADAPTER_OFF, error.kind)
    }

    @Test
    fun `a lock nobody hears is NotInRange within the timeout`() = runBlocking {
        lock(ByteArray(16) { 1 }).advertise()
        val error = failure<LatchkeyException.Bluetooth>("connect to a lock that is not advertising") {
            runBlocking { withTimeout(STEP_MS) { BluetoothGattTransport(app).connect(ByteArray(16) { 2 }, 300uL) } }
        }
        assertEquals(BluetoothErrorKind.NOT_IN_RANGE, error.kind)
    }

    @Test
    fun `a device without the Latchkey service is ServiceMissing, and its connection is released`() = runBlocking {
        val lockId = ByteArray(16) { 3 }
        val peripheral = lock(lockId, offersService = false)
        peripheral.advertise()
        val error = failure<LatchkeyException.Bluetooth>("connect to a device without the service") {
            runBlocking { withTimeout(STEP_MS) { BluetoothGattTransport(app).connect(lockId, 5_000uL) } }
        }
        assertEquals(BluetoothErrorKind.SERVICE_MISSING, error.kind)
        assertTrue("the GATT connection is closed", peripheral.connections.single().closed)
    }

    @Test
    fun `GATT error 133 during an unlock is ConnectionLost`() = runBlocking {
        val world = SimWorld.create()
        val peripheral = lock(world.lockId)
        peripheral.advertise()
        val client = world.phone(BluetoothGattTransport(app), KeystoreSigner(JcaDeviceKey()))
        client.use {
            client.fetchLocks()
            peripheral.dropNextWriteWith = GATT_ERROR
            val error = failure<LatchkeyException.Bluetooth>("an unlock whose link drops") {
                runBlocking { withTimeout(STEP_MS) { client.unlock(world.door) } }
            }
            assertEquals(error.detail, BluetoothErrorKind.CONNECTION_LOST, error.kind)
        }
    }
}
