// The SDK's Android BLE transport: finds Latchkey locks with the platform scanner and talks to them over
// BluetoothGatt, so apps write no Bluetooth code. Bytes only: framing and the protocol stay in Rust.
package com.latchkey.sdk.android

import android.bluetooth.BluetoothAdapter
import android.bluetooth.BluetoothGattCharacteristic
import android.bluetooth.BluetoothManager
import android.content.Context
import com.latchkey.sdk.BleConnection
import com.latchkey.sdk.BleLink
import com.latchkey.sdk.BleTransport
import com.latchkey.sdk.BluetoothErrorKind
import com.latchkey.sdk.LatchkeyException
import com.latchkey.sdk.LockAdvertisement
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.withTimeoutOrNull

/** How long each GATT step may take (every step is bounded; the overall connect also has the SDK's timeout). */
data class GattTimeouts(
    /** From `connectGatt` to the connected callback. */
    val connectMs: Long = 10_000,
    /** Each of: MTU request, service discovery, enabling notifications, one write. */
    val operationMs: Long = 5_000,
)

/**
 * A [BleTransport] over the Android Bluetooth stack: pass it to `DoorClient.setup`.
 *
 * - Scans with a `ScanFilter` on the Latchkey service and picks the lock by the lock id in its
 *   manufacturer data; connects with `connectGatt(context, false, callback, TRANSPORT_LE)`, asks for MTU
 *   517, discovers services, enables notifications (CCCD write) and writes with response, one GATT
 *   operation at a time. Every step has a timeout.
 * - Checks the runtime permissions first ([BluetoothPermissions]) and throws `LatchkeyException.Bluetooth`
 *   with a kind an app can act on: `PERMISSION_DENIED` (request the permissions it names), `ADAPTER_OFF`
 *   (ask the user to switch Bluetooth on), `NOT_IN_RANGE` (the lock was not heard), `SERVICE_MISSING`,
 *   `CONNECTION_LOST` (including GATT error 133), `TIMEOUT`.
 * - Threads: the SDK calls it from background threads; nothing here blocks or needs the main thread.
 *   Android's callbacks (Binder threads) are bridged to coroutines.
 *
 * minSdk 26 (Android 8.0): `connectGatt` with a transport and `requestMtu` exist on every supported
 * version; Android 13's value-passing GATT calls are used there and the older ones before.
 */
class BluetoothGattTransport @JvmOverloads constructor(
    context: Context,
    private val timeouts: GattTimeouts = GattTimeouts(),
) : BleTransport {
    private val context: Context = context.applicationContext ?: context

    override suspend fun scan(timeoutMs: ULong): List<LockAdvertisement> {
        val scanner = scanner()
        val loudest = LinkedHashMap<String, LockAdvertisement>()
        withTimeoutOrNull(timeoutMs.toLong()) {
            scanner.locks().collect { heard ->
                val key = heard.lockId.joinToString("") { "%02x".format(it) }
                val rssi = heard.rssi.coerceIn(Short.MIN_VALUE.toInt(), Short.MAX_VALUE.toInt()).toShort()
                val known = loudest[key]
                if (known == null || known.rssi < rssi) loudest[key] = LockAdvertisement(heard.lockId, rssi)
            }
        }
        return loudest.values.sortedByDescending { it.rssi }
    }

    override suspend fun connect(lockId: ByteArray, timeoutMs: ULong): BleConnection {
        if (lockId.size != 16) {
            throw LatchkeyException.Bluetooth(BluetoothErrorKind.OTHER, "a lock id is 16 bytes, not ${lockId.size}")
        }
        val deadline = System.nanoTime() + timeoutMs.toLong() * 1_000_000
        fun remainingMs() = ((deadline - System.nanoTime()) / 1_000_000).coerceAtLeast(1)

        val scanner = scanner()
        val heard = withTimeoutOrNull(remainingMs()) {
            scanner.locks().first { it.lockId.contentEquals(lockId) }
        } ?: throw LatchkeyException.Bluetooth(
            BluetoothErrorKind.NOT_IN_RANGE,
            "the lock was not heard within $timeoutMs ms: move closer to the door and try again",
        )
        val session = GattSession.connect(context, heard.device, minOf(timeouts.connectMs, remainingMs()))
        try {
            session.negotiateMtu(minOf(timeouts.operationMs, remainingMs()))
            if (!session.discoverServices(minOf(timeouts.operationMs, remainingMs()))) {
                throw LatchkeyException.Bluetooth(
                    BluetoothErrorKind.OTHER,
                    "service discovery on the lock failed; disconnect and try again",
                )
            }
            val write = session.characteristic(LatchkeyGatt.SERVICE, LatchkeyGatt.WRITE_CHARACTERISTIC)
            val notify = session.characteristic(LatchkeyGatt.SERVICE, LatchkeyGatt.NOTIFY_CHARACTERISTIC)
            if (write == null || notify == null) {
                throw LatchkeyException.Bluetooth(
                    BluetoothErrorKind.SERVICE_MISSING,
                    "the device advertising this lock id does not offer the Latchkey GATT service; " +
                        "it is not a Latchkey lock or its firmware needs an update",
                )
            }
            return BleConnection(GattLink(session, write, notify, timeouts))
        } catch (error: Throwable) {
            session.close()
            throw error
        }
    }

    /** The LE scanner, once the permissions and the adapter are checked. */
    private fun scanner(): LockScanner {
        BluetoothPermissions.check(context)
        val adapter: BluetoothAdapter = context.getSystemService(BluetoothManager::class.java)?.adapter
            ?: throw LatchkeyException.Bluetooth(BluetoothErrorKind.OTHER, "this device has no Bluetooth")
        if (!guarded("reading the Bluetooth state") { adapter.isEnabled }) throw adapterOff()
        val scanner = adapter.bluetoothLeScanner ?: throw adapterOff()
        return LockScanner(scanner)
    }

    private fun adapterOff() = LatchkeyException.Bluetooth(
        BluetoothErrorKind.ADAPTER_OFF,
        "Bluetooth is off: ask the user to switch it on (BluetoothAdapter.ACTION_REQUEST_ENABLE)",
    )

    override fun toString() = "BluetoothGattTransport"
}

/** One connected lock, as the SDK's [BleLink]. */
private class GattLink(
    private val session: GattSession,
    private val writeCharacteristic: BluetoothGattCharacteristic,
    private val notifyCharacteristic: BluetoothGattCharacteristic,
    private val timeouts: GattTimeouts,
) : BleLink {
    override fun mtu(): UShort = session.mtu.toUShort()

    override suspend fun subscribe() = session.enableNotifications(notifyCharacteristic, timeouts.operationMs)

    override suspend fun write(packet: ByteArray) {
        if (packet.size > session.mtu - 3) {
            throw LatchkeyException.Bluetooth(
                BluetoothErrorKind.OTHER,
                "a packet of ${packet.size} bytes does not fit the MTU ${session.mtu} (at most ${session.mtu - 3})",
            )
        }
        session.write(writeCharacteristic, packet, timeouts.operationMs)
    }

    override suspend fun receive(timeoutMs: ULong): ByteArray = session.take(timeoutMs.toLong())
        ?: throw LatchkeyException.Bluetooth(BluetoothErrorKind.TIMEOUT, "the lock sent nothing for $timeoutMs ms")

    override suspend fun disconnect() = session.close()

    override fun toString() = "GattLink($session)"
}
