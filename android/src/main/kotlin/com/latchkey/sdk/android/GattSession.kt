// One GATT connection to one lock: the BluetoothGattCallback bridged to coroutines, the serial queue of
// GATT operations (Android runs one at a time per connection and silently drops a second one), and the
// queue of notified packets. It knows GATT, not the Latchkey protocol.
package com.latchkey.sdk.android

import android.annotation.SuppressLint
import android.bluetooth.BluetoothDevice
import android.bluetooth.BluetoothGatt
import android.bluetooth.BluetoothGattCallback
import android.bluetooth.BluetoothGattCharacteristic
import android.bluetooth.BluetoothGattDescriptor
import android.bluetooth.BluetoothProfile
import android.bluetooth.BluetoothStatusCodes
import android.content.Context
import android.os.Build
import com.latchkey.sdk.BluetoothErrorKind
import com.latchkey.sdk.LatchkeyException
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.TimeoutCancellationException
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock
import kotlinx.coroutines.withTimeout
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicReference

/** The GATT status Android reports for a generic connection failure (GATT_ERROR, often "133"). */
internal const val GATT_ERROR = 133

/** One GATT operation awaiting its callback. */
private class Pending(val kind: Kind) {
    enum class Kind(val words: String) {
        MTU("the MTU request"),
        DISCOVER("service discovery"),
        DESCRIPTOR("enabling notifications"),
        WRITE("a write"),
    }

    /** The callback's status (or the MTU for [Kind.MTU]). */
    val result = CompletableDeferred<Int>()
}

/**
 * A connection opened with `connectGatt(context, false, callback, TRANSPORT_LE)`. Callbacks arrive on
 * Binder threads (or synchronously inside the call that caused them); every piece of state they touch is
 * thread-safe (deferreds, a channel, atomics), and nothing here blocks a thread or needs the main thread.
 */
@SuppressLint("MissingPermission") // BluetoothGattTransport checks the permissions before opening a session.
internal class GattSession private constructor(private val device: BluetoothDevice) : BluetoothGattCallback() {
    private val connected = CompletableDeferred<Unit>()
    private val pending = AtomicReference<Pending?>(null)
    private val queue = Mutex()
    private val closed = AtomicBoolean(false)

    /** Notified packets of the notify characteristic, in order, until [take] takes them. */
    private val inbox = Channel<ByteArray>(Channel.UNLIMITED)

    /** Why the link ended, once it has. */
    private val lost = AtomicReference<LatchkeyException?>(null)

    private lateinit var gatt: BluetoothGatt

    /** The ATT MTU after negotiation. */
    @Volatile
    var mtu: Int = LatchkeyGatt.DEFAULT_MTU
        private set

    companion object {
        /**
         * Connects to [device] and waits (at most [timeoutMs]) until the link is up. The caller owns the
         * session from then on and must [close] it.
         */
        suspend fun connect(context: Context, device: BluetoothDevice, timeoutMs: Long): GattSession {
            val session = GattSession(device)
            val gatt = guarded("connectGatt") {
                device.connectGatt(context, false, session, BluetoothDevice.TRANSPORT_LE)
            } ?: throw LatchkeyException.Bluetooth(
                BluetoothErrorKind.OTHER,
                "Android could not start a GATT connection to the lock (connectGatt returned null); " +
                    "switch Bluetooth off and on and try again",
            )
            session.gatt = gatt
            try {
                withTimeout(timeoutMs) { session.connected.await() }
            } catch (timeout: TimeoutCancellationException) {
                session.close()
                throw LatchkeyException.Bluetooth(
                    BluetoothErrorKind.TIMEOUT,
                    "the lock did not accept the connection within $timeoutMs ms: move closer and try again",
                )
            } catch (error: Throwable) {
                session.close()
                throw error
            }
            return session
        }
    }

    /** Asks for [LatchkeyGatt.REQUESTED_MTU]; keeps 23 when the lock or the phone refuses. */
    suspend fun negotiateMtu(timeoutMs: Long) {
        val agreed = operation(Pending.Kind.MTU, timeoutMs) { gatt.requestMtu(LatchkeyGatt.REQUESTED_MTU) }
        mtu = agreed.coerceIn(LatchkeyGatt.DEFAULT_MTU, LatchkeyGatt.REQUESTED_MTU)
    }

    /** Discovers services; true when the discovery succeeded. */
    suspend fun discoverServices(timeoutMs: Long): Boolean =
        operation(Pending.Kind.DISCOVER, timeoutMs) { gatt.discoverServices() } == BluetoothGatt.GATT_SUCCESS

    /** The discovered characteristic [characteristic] of the service [service], if the lock offers it. */
    fun characteristic(service: java.util.UUID, characteristic: java.util.UUID): BluetoothGattCharacteristic? =
        gatt.getService(service)?.getCharacteristic(characteristic)

    /** Turns notifications of [characteristic] on: locally, then in its CCCD on the lock. */
    suspend fun enableNotifications(characteristic: BluetoothGattCharacteristic, timeoutMs: Long) {
        val descriptor = characteristic.getDescriptor(LatchkeyGatt.CCCD) ?: throw LatchkeyException.Bluetooth(
            BluetoothErrorKind.SERVICE_MISSING,
            "the lock's notify characteristic has no CCCD descriptor: this device is not a Latchkey lock",
        )
        if (!guarded("setCharacteristicNotification") { gatt.setCharacteristicNotification(characteristic, true) }) {
            throw LatchkeyException.Bluetooth(
                BluetoothErrorKind.OTHER,
                "Android refused to enable notifications from the lock; disconnect and try again",
            )
        }
        val value = BluetoothGattDescriptor.ENABLE_NOTIFICATION_VALUE
        val status = operation(Pending.Kind.DESCRIPTOR, timeoutMs) {
            if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.TIRAMISU) {
                gatt.writeDescriptor(descriptor, value) == BluetoothStatusCodes.SUCCESS
            } else {
                @Suppress("DEPRECATION")
                descriptor.value = value
                @Suppress("DEPRECATION")
                gatt.writeDescriptor(descriptor)
            }
        }
        expectSuccess(status, Pending.Kind.DESCRIPTOR)
    }

    /** Writes [packet] to [characteristic] with response and waits for the lock's acknowledgement. */
    suspend fun write(characteristic: BluetoothGattCharacteristic, packet: ByteArray, timeoutMs: Long) {
        val status = operation(Pending.Kind.WRITE, timeoutMs) {
            val type = BluetoothGattCharacteristic.WRITE_TYPE_DEFAULT
            if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.TIRAMISU) {
                gatt.writeCharacteristic(characteristic, packet, type) == BluetoothStatusCodes.SUCCESS
            } else {
                characteristic.writeType = type
                @Suppress("DEPRECATION")
                characteristic.value = packet
                @Suppress("DEPRECATION")
                gatt.writeCharacteristic(characteristic)
            }
        }
        expectSuccess(status, Pending.Kind.WRITE)
    }

    /** The next notified packet, or null when none arrives within [timeoutMs]; throws once the link is lost. */
    suspend fun take(timeoutMs: Long): ByteArray? = kotlinx.coroutines.withTimeoutOrNull(timeoutMs) { inbox.receive() }

    /** Disconnects and releases the connection. Idempotent; never throws. */
    fun close() {
        if (!closed.compareAndSet(false, true)) return
        end(LatchkeyException.Bluetooth(BluetoothErrorKind.CONNECTION_LOST, "the connection to the lock was closed"))
        if (this::gatt.isInitialized) {
            runCatching { gatt.disconnect() }
            runCatching { gatt.close() }
        }
    }

    /**
     * Runs one GATT operation: waits its turn, registers what it waits for (before starting it: Android may
     * call back before the start call returns), starts it, and waits for its callback at most [timeoutMs].
     */
    private suspend fun operation(kind: Pending.Kind, timeoutMs: Long, start: () -> Boolean): Int = queue.withLock {
        lost.get()?.let { throw it }
        val waiting = Pending(kind)
        pending.set(waiting)
        try {
            if (!guarded(kind.words) { start() }) {
                lost.get()?.let { throw it }
                throw LatchkeyException.Bluetooth(
                    BluetoothErrorKind.OTHER,
                    "Android refused to start ${kind.words} with the lock (GATT busy or disconnected); try again",
                )
            }
            withTimeout(timeoutMs) { waiting.result.await() }
        } catch (timeout: TimeoutCancellationException) {
            throw LatchkeyException.Bluetooth(
                BluetoothErrorKind.TIMEOUT,
                "the lock did not answer ${kind.words} within $timeoutMs ms: move closer and try again",
            )
        } finally {
            pending.compareAndSet(waiting, null)
        }
    }

    private fun expectSuccess(status: Int, kind: Pending.Kind) {
        if (status != BluetoothGatt.GATT_SUCCESS) {
            throw LatchkeyException.Bluetooth(
                BluetoothErrorKind.OTHER,
                "the lock refused ${kind.words} (GATT status $status); disconnect and try again",
            )
        }
    }

    /** Completes the pending operation of [kind] with [value]; a callback nobody waits for is dropped. */
    private fun complete(kind: Pending.Kind, value: Int) {
        val waiting = pending.get() ?: return
        if (waiting.kind == kind) waiting.result.complete(value)
    }

    /** The link is over: fail whoever waits, and let queued packets drain before [take] throws [why]. */
    private fun end(why: LatchkeyException) {
        if (!lost.compareAndSet(null, why)) return
        connected.completeExceptionally(why)
        pending.get()?.result?.completeExceptionally(why)
        inbox.close(why)
    }

    override fun onConnectionStateChange(gatt: BluetoothGatt, status: Int, newState: Int) {
        if (status == BluetoothGatt.GATT_SUCCESS && newState == BluetoothProfile.STATE_CONNECTED) {
            connected.complete(Unit)
            return
        }
        if (newState == BluetoothProfile.STATE_CONNECTED) return
        val detail = when (status) {
            GATT_ERROR -> "the connection to the lock failed (GATT error 133): move closer and try again"
            BluetoothGatt.GATT_SUCCESS -> "the lock closed the connection"
            else -> "the connection to the lock dropped (status $status): move closer and try again"
        }
        end(LatchkeyException.Bluetooth(BluetoothErrorKind.CONNECTION_LOST, detail))
    }

    override fun onMtuChanged(gatt: BluetoothGatt, mtu: Int, status: Int) {
        complete(Pending.Kind.MTU, if (status == BluetoothGatt.GATT_SUCCESS) mtu else LatchkeyGatt.DEFAULT_MTU)
    }

    override fun onServicesDiscovered(gatt: BluetoothGatt, status: Int) {
        complete(Pending.Kind.DISCOVER, status)
    }

    override fun onDescriptorWrite(gatt: BluetoothGatt, descriptor: BluetoothGattDescriptor, status: Int) {
        if (descriptor.uuid == LatchkeyGatt.CCCD) complete(Pending.Kind.DESCRIPTOR, status)
    }

    override fun onCharacteristicWrite(gatt: BluetoothGatt, characteristic: BluetoothGattCharacteristic, status: Int) {
        if (characteristic.uuid == LatchkeyGatt.WRITE_CHARACTERISTIC) complete(Pending.Kind.WRITE, status)
    }

    /** Android 13+: the value comes with the callback (and this override stops the older one being called). */
    override fun onCharacteristicChanged(gatt: BluetoothGatt, characteristic: BluetoothGattCharacteristic, value: ByteArray) {
        if (characteristic.uuid == LatchkeyGatt.NOTIFY_CHARACTERISTIC) inbox.trySend(value.copyOf())
    }

    /** Android 8-12: the value is in the characteristic; copy it before the next notification replaces it. */
    @Deprecated("Android 13 calls the overload with the value")
    override fun onCharacteristicChanged(gatt: BluetoothGatt, characteristic: BluetoothGattCharacteristic) {
        @Suppress("DEPRECATION")
        val value = characteristic.value ?: return
        if (characteristic.uuid == LatchkeyGatt.NOTIFY_CHARACTERISTIC) inbox.trySend(value.copyOf())
    }

    override fun toString() = "GattSession(${device.address}, mtu=$mtu)"
}

/** Runs a platform call, turning a SecurityException (a permission revoked meanwhile) into PermissionDenied. */
internal inline fun <T> guarded(what: String, call: () -> T): T = try {
    call()
} catch (denied: SecurityException) {
    throw LatchkeyException.Bluetooth(
        BluetoothErrorKind.PERMISSION_DENIED,
        "Android refused $what: the app lacks ${BluetoothPermissions.required().joinToString(" and ")}; " +
            "request it from the user and try again",
    )
}
