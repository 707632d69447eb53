// A Latchkey lock as Robolectric's Bluetooth shadows present it to the app: its advertisement in the
// ShadowBluetoothLeScanner, its GATT service in the ShadowBluetoothGatt of each connection, and every
// characteristic write forwarded to a real virtual lock of a running simulator, whose answers come back as
// notifications — through the app's BluetoothGattCallback, on a separate "Binder" thread, as on a phone.
package com.latchkey.sdk.android

import android.bluetooth.BluetoothAdapter
import android.bluetooth.BluetoothDevice
import android.bluetooth.BluetoothGatt
import android.bluetooth.BluetoothGattCallback
import android.bluetooth.BluetoothGattCharacteristic
import android.bluetooth.BluetoothGattDescriptor
import android.bluetooth.BluetoothGattService
import android.bluetooth.BluetoothProfile
import android.bluetooth.le.ScanRecord
import android.bluetooth.le.ScanResult
import android.os.Build
import org.robolectric.shadow.api.Shadow
import org.robolectric.shadows.ShadowBluetoothDevice
import org.robolectric.shadows.ShadowBluetoothGatt
import org.robolectric.shadows.ShadowBluetoothLeScanner
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.util.UUID
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors

/** The status Android reports when the peer ended the link (GATT_CONN_TERMINATE_PEER_USER). */
const val PEER_TERMINATED = 19

/**
 * The lock of door [lockId] (the door uuid's 16 bytes) at Bluetooth address [address], reached through
 * [radio]. With [offersService] false the device answers service discovery without the Latchkey service.
 */
class VirtualLockPeripheral(
    private val adapter: BluetoothAdapter,
    private val radio: SimulatorRadio,
    val lockId: ByteArray,
    address: String = "C0:FF:EE:00:00:01",
    private val offersService: Boolean = true,
) : AutoCloseable {
    private val binder: ExecutorService = Executors.newSingleThreadExecutor { task ->
        Thread(task, "binder-virtual-lock").apply { isDaemon = true }
    }

    /** The device a scan reports. */
    val device: BluetoothDevice = adapter.getRemoteDevice(address)

    /** Every GATT connection the app opened to this device. */
    val connections = CopyOnWriteArrayList<LockSide>()

    /** When set, the next write drops the link with this GATT status instead of reaching the lock. */
    @Volatile
    var dropNextWriteWith: Int? = null

    init {
        Shadow.extract<ShadowBluetoothDevice>(device).setGattConnectionInterceptor { gatt -> attach(gatt) }
    }

    /** Makes the lock heard by scans: flags, the Latchkey manufacturer data, and the service UUID. */
    fun advertise(rssi: Int = -60) {
        val record = ScanRecord.parseFromBytes(advertisement())
        Shadow.extract<ShadowBluetoothLeScanner>(adapter.bluetoothLeScanner)
            .addScanResult(ScanResult(device, record, rssi, System.nanoTime()))
    }

    private fun advertisement(): ByteArray {
        val payload = byteArrayOf(LatchkeyGatt.ADVERTISEMENT_VERSION.toByte()) + lockId + byteArrayOf(87, 0)
        val company = byteArrayOf((LatchkeyGatt.COMPANY_ID and 0xff).toByte(), (LatchkeyGatt.COMPANY_ID shr 8).toByte())
        val manufacturer = byteArrayOf((1 + 2 + payload.size).toByte(), 0xFF.toByte()) + company + payload
        val flags = byteArrayOf(2, 0x01, 0x06)
        // The scan response: the complete list of 128-bit service UUIDs, little-endian.
        val uuid = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN)
            .putLong(LatchkeyGatt.SERVICE.leastSignificantBits).putLong(LatchkeyGatt.SERVICE.mostSignificantBits).array()
        val services = byteArrayOf(17, 0x07) + uuid
        return flags + manufacturer + services
    }

    private fun attach(gatt: BluetoothGatt) {
        val shadow = Shadow.extract<ShadowBluetoothGatt>(gatt)
        val notify = BluetoothGattCharacteristic(
            LatchkeyGatt.NOTIFY_CHARACTERISTIC,
            BluetoothGattCharacteristic.PROPERTY_NOTIFY,
            0,
        ).apply {
            addDescriptor(
                BluetoothGattDescriptor(
                    LatchkeyGatt.CCCD,
                    BluetoothGattDescriptor.PERMISSION_READ or BluetoothGattDescriptor.PERMISSION_WRITE,
                ),
            )
        }
        val write = BluetoothGattCharacteristic(
            LatchkeyGatt.WRITE_CHARACTERISTIC,
            BluetoothGattCharacteristic.PROPERTY_WRITE or BluetoothGattCharacteristic.PROPERTY_WRITE_NO_RESPONSE,
            BluetoothGattCharacteristic.PERMISSION_WRITE,
        )
        val service = if (offersService) {
            BluetoothGattService(LatchkeyGatt.SERVICE, BluetoothGattService.SERVICE_TYPE_PRIMARY).apply {
                addCharacteristic(write)
                addCharacteristic(notify)
            }
        } else {
            // A battery service only: some other BLE device that happens to answer.
            BluetoothGattService(UUID.fromString("0000180f-0000-1000-8000-00805f9b34fb"), BluetoothGattService.SERVICE_TYPE_PRIMARY)
        }
        shadow.addDiscoverableService(service)
        shadow.allowCharacteristicNotification(notify)
        val side = LockSide(gatt, shadow, shadow.gattCallback, notify)
        connections += side
        shadow.setGattCallback(side)
        // The link comes up a moment later, on a Binder thread, as on a phone.
        binder.execute { shadow.notifyConnection(device.address) }
    }

    override fun close() {
        binder.shutdownNow()
    }

    /**
     * The lock's end of one connection: what the shadow reports to the app's callback passes through
     * here, goes to the virtual lock, and returns to the app's callback on the Binder thread.
     */
    inner class LockSide(
        private val gatt: BluetoothGatt,
        private val shadow: ShadowBluetoothGatt,
        private val app: BluetoothGattCallback,
        private val notify: BluetoothGattCharacteristic,
    ) : BluetoothGattCallback() {
        /** The MTU the app asked for. */
        @Volatile
        var requestedMtu: Int? = null

        /** Packets the app wrote, in order. */
        val written = CopyOnWriteArrayList<ByteArray>()

        /** Whether the app enabled notifications in the CCCD. */
        @Volatile
        var subscribed = false

        @Volatile
        private var connection: String? = null

        /** Whether the app released the connection (BluetoothGatt.close). */
        val closed: Boolean get() = shadow.isClosed

        private fun post(task: () -> Unit) = binder.execute(task)

        override fun onConnectionStateChange(gatt: BluetoothGatt, status: Int, newState: Int) {
            if (newState == BluetoothProfile.STATE_DISCONNECTED) connection?.let { id -> post { radio.disconnect(id) } }
            post { app.onConnectionStateChange(gatt, status, newState) }
        }

        override fun onMtuChanged(gatt: BluetoothGatt, mtu: Int, status: Int) {
            requestedMtu = mtu
            post { app.onMtuChanged(gatt, mtu, status) }
        }

        override fun onServicesDiscovered(gatt: BluetoothGatt, status: Int) {
            post { app.onServicesDiscovered(gatt, status) }
        }

        @Suppress("DEPRECATION")
        override fun onDescriptorWrite(gatt: BluetoothGatt, descriptor: BluetoothGattDescriptor, status: Int) {
            val value = descriptor.value?.copyOf()
            post {
                if (descriptor.uuid == LatchkeyGatt.CCCD && value.contentEquals(BluetoothGattDescriptor.ENABLE_NOTIFICATION_VALUE)) {
                    subscribed = true
                    val id = radio.connect(lockId, requestedMtu ?: LatchkeyGatt.DEFAULT_MTU)
                    connection = id
                    val hello = radio.subscribe(id)
                    app.onDescriptorWrite(gatt, descriptor, status)
                    deliver(hello)
                } else {
                    app.onDescriptorWrite(gatt, descriptor, status)
                }
            }
        }

        override fun onCharacteristicWrite(gatt: BluetoothGatt, characteristic: BluetoothGattCharacteristic, status: Int) {
            val packet = shadow.latestWrittenBytes.copyOf()
            written += packet
            post {
                val drop = dropNextWriteWith
                if (drop != null) {
                    dropNextWriteWith = null
                    app.onConnectionStateChange(gatt, drop, BluetoothProfile.STATE_DISCONNECTED)
                    return@post
                }
                val id = connection
                if (id == null) {
                    // The lock's link layer accepts nothing before notifications are on.
                    app.onCharacteristicWrite(gatt, characteristic, BluetoothGatt.GATT_FAILURE)
                    return@post
                }
                val answer = radio.write(id, packet)
                app.onCharacteristicWrite(gatt, characteristic, status)
                deliver(answer)
            }
        }

        /** Hands the lock's packets to the app as notifications, or drops the link if the lock closed it. */
        private fun deliver(answer: RadioAnswer) {
            when (answer) {
                is RadioAnswer.Packets -> answer.packets.forEach { packet ->
                    if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.TIRAMISU) {
                        app.onCharacteristicChanged(gatt, notify, packet)
                    } else {
                        @Suppress("DEPRECATION")
                        notify.value = packet
                        @Suppress("DEPRECATION")
                        app.onCharacteristicChanged(gatt, notify)
                    }
                }
                is RadioAnswer.Closed -> app.onConnectionStateChange(gatt, PEER_TERMINATED, BluetoothProfile.STATE_DISCONNECTED)
            }
        }
    }
}
