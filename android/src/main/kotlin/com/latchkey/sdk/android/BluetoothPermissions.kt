// Which runtime permissions the Bluetooth transport needs on this Android version, checked before any
// radio call so a missing grant is a typed PermissionDenied instead of a SecurityException deep inside.
package com.latchkey.sdk.android

import android.Manifest
import android.content.Context
import android.content.pm.PackageManager
import android.os.Build
import com.latchkey.sdk.BluetoothErrorKind
import com.latchkey.sdk.LatchkeyException

/** The runtime permissions of the Latchkey transport, per Android version. */
object BluetoothPermissions {
    /**
     * What the app must hold to scan for and connect to locks on this device's Android version:
     * - Android 12+ (API 31): `BLUETOOTH_SCAN` and `BLUETOOTH_CONNECT` (the manifest declares
     *   BLUETOOTH_SCAN with `neverForLocation`, so no location permission is needed);
     * - Android 10 and 11 (API 29, 30): `ACCESS_FINE_LOCATION` (BLE scans return nothing without it);
     * - Android 8 and 9 (API 26-28): `ACCESS_FINE_LOCATION` or `ACCESS_COARSE_LOCATION`; this list names
     *   the fine one, and [missing] accepts either.
     */
    fun required(sdkInt: Int = Build.VERSION.SDK_INT): List<String> = when {
        sdkInt >= Build.VERSION_CODES.S -> listOf(Manifest.permission.BLUETOOTH_SCAN, Manifest.permission.BLUETOOTH_CONNECT)
        else -> listOf(Manifest.permission.ACCESS_FINE_LOCATION)
    }

    /** The permissions of [required] the app does not hold (empty when it may scan and connect). */
    fun missing(context: Context): List<String> {
        val sdkInt = Build.VERSION.SDK_INT
        fun granted(permission: String) = context.checkSelfPermission(permission) == PackageManager.PERMISSION_GRANTED
        if (sdkInt < Build.VERSION_CODES.Q && granted(Manifest.permission.ACCESS_COARSE_LOCATION)) return emptyList()
        return required(sdkInt).filterNot(::granted)
    }

    /** Throws `LatchkeyException.Bluetooth(PERMISSION_DENIED)` naming what to request when [missing] is not empty. */
    fun check(context: Context) {
        val missing = missing(context)
        if (missing.isNotEmpty()) throw denied(missing)
    }

    /** The typed error for permissions the app lacks. */
    internal fun denied(missing: List<String>): LatchkeyException.Bluetooth = LatchkeyException.Bluetooth(
        BluetoothErrorKind.PERMISSION_DENIED,
        "the app may not use Bluetooth: request ${missing.joinToString(" and ")} from the user " +
            "(ActivityCompat.requestPermissions) before scanning or unlocking",
    )
}
