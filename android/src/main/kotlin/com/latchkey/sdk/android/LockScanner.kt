// BLE scanning for Latchkey locks: a ScanFilter on the Latchkey service, results as a Flow, and the lock
// id read from each advertisement's manufacturer data. Stops the scan whenever the collector stops.
package com.latchkey.sdk.android

import android.annotation.SuppressLint
import android.bluetooth.BluetoothDevice
import android.bluetooth.le.BluetoothLeScanner
import android.bluetooth.le.ScanCallback
import android.bluetooth.le.ScanFilter
import android.bluetooth.le.ScanResult
import android.bluetooth.le.ScanSettings
import android.os.ParcelUuid
import com.latchkey.sdk.BluetoothErrorKind
import com.latchkey.sdk.LatchkeyException
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.flow.mapNotNull

/** One Latchkey lock heard: its device, its lock id and how loud it was. */
internal class HeardLock(val device: BluetoothDevice, val lockId: ByteArray, val rssi: Int)

/** Scans for advertisements of the Latchkey service with [scanner]. */
@SuppressLint("MissingPermission") // BluetoothGattTransport checks the permissions before scanning.
internal class LockScanner(private val scanner: BluetoothLeScanner) {
    /**
     * Latchkey locks as they are heard, until the collector stops (which stops the scan). A scan Android
     * refuses to run ends the flow with a typed error.
     */
    fun locks(): Flow<HeardLock> = callbackFlow {
        val callback = object : ScanCallback() {
            override fun onScanResult(callbackType: Int, result: ScanResult) {
                trySend(result)
            }

            override fun onBatchScanResults(results: MutableList<ScanResult>) {
                results.forEach { trySend(it) }
            }

            override fun onScanFailed(errorCode: Int) {
                close(scanFailed(errorCode))
            }
        }
        guarded("the BLE scan") { scanner.startScan(listOf(filter()), settings(), callback) }
        awaitClose { runCatching { scanner.stopScan(callback) } }
    }.buffer(Channel.UNLIMITED).mapNotNull(::heard)

    private fun filter(): ScanFilter = ScanFilter.Builder().setServiceUuid(ParcelUuid(LatchkeyGatt.SERVICE)).build()

    private fun settings(): ScanSettings = ScanSettings.Builder()
        .setScanMode(ScanSettings.SCAN_MODE_LOW_LATENCY)
        .setCallbackType(ScanSettings.CALLBACK_TYPE_ALL_MATCHES)
        .build()

    private fun heard(result: ScanResult): HeardLock? {
        val record = result.scanRecord ?: return null
        val lockId = LatchkeyGatt.ACCEPTED_COMPANY_IDS.firstNotNullOfOrNull { company ->
            LatchkeyGatt.lockId(record.getManufacturerSpecificData(company))
        } ?: return null
        return HeardLock(result.device, lockId, result.rssi)
    }

    private fun scanFailed(errorCode: Int): LatchkeyException.Bluetooth = when (errorCode) {
        ScanCallback.SCAN_FAILED_APPLICATION_REGISTRATION_FAILED -> LatchkeyException.Bluetooth(
            BluetoothErrorKind.OTHER,
            "Android could not register the BLE scan (too many scans by this app); wait a moment and try again",
        )
        else -> LatchkeyException.Bluetooth(
            BluetoothErrorKind.OTHER,
            "Android refused the BLE scan (error $errorCode); switch Bluetooth off and on and try again",
        )
    }
}
