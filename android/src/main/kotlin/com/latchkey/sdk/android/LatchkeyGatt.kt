// The Latchkey GATT layout and advertisement as the Android transport reads them. The normative source is
// protocol/src/gatt.rs (docs/protocol.md §25); these values mirror it and must change with it.
package com.latchkey.sdk.android

import java.util.UUID

/** The lock's GATT service, its two characteristics, and the advertisement that names the lock. */
object LatchkeyGatt {
    /** The Latchkey primary service; also listed in the lock's scan response, so scans filter on it. */
    val SERVICE: UUID = UUID.fromString("4c4b0001-8f2e-4d6a-b1c3-7a5e9d0f2b61")

    /** Phone → lock: one framed packet per write (with response). */
    val WRITE_CHARACTERISTIC: UUID = UUID.fromString("4c4b0002-8f2e-4d6a-b1c3-7a5e9d0f2b61")

    /** Lock → phone: one framed packet per notification; the lock speaks first once notifications are on. */
    val NOTIFY_CHARACTERISTIC: UUID = UUID.fromString("4c4b0003-8f2e-4d6a-b1c3-7a5e9d0f2b61")

    /** The Client Characteristic Configuration Descriptor (Bluetooth SIG 0x2902). */
    val CCCD: UUID = UUID.fromString("00002902-0000-1000-8000-00805f9b34fb")

    /** The company id the manufacturer data is filed under (0xFFFF: the SIG's test/development id). */
    const val COMPANY_ID: Int = 0xFFFF

    /** The company ids a phone reads a Latchkey advertisement from. */
    val ACCEPTED_COMPANY_IDS: List<Int> = listOf(COMPANY_ID)

    /** The advertisement format version this code reads. */
    const val ADVERTISEMENT_VERSION: Int = 1

    /** Bytes of the manufacturer data payload: version (1), lock id (16), battery (1), flags (1). */
    const val ADVERTISEMENT_LEN: Int = 19

    /** The ATT MTU the transport asks for (the largest BLE allows). */
    const val REQUESTED_MTU: Int = 517

    /** The ATT MTU every link has before negotiation. */
    const val DEFAULT_MTU: Int = 23

    /**
     * The lock id in a manufacturer data payload (after the company id), or null when the payload is not
     * a Latchkey advertisement this code understands (another version, too short). Longer payloads of
     * version 1 are accepted: a lock may append fields.
     */
    fun lockId(manufacturerData: ByteArray?): ByteArray? {
        if (manufacturerData == null || manufacturerData.size < ADVERTISEMENT_LEN) return null
        if (manufacturerData[0].toInt() != ADVERTISEMENT_VERSION) return null
        return manufacturerData.copyOfRange(1, 17)
    }
}
