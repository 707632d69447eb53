// A BleTransport over the simulator's radio (/sim/v1/radio): a Kotlin transport that reaches the
// simulator's virtual locks with real packets, for JVM tests, samples and emulator builds of an app.
package com.latchkey.sdk.testing

import com.latchkey.sdk.BleConnection
import com.latchkey.sdk.BleLink
import com.latchkey.sdk.BleTransport
import com.latchkey.sdk.BluetoothErrorKind
import com.latchkey.sdk.LatchkeyException
import com.latchkey.sdk.LockAdvertisement
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.withTimeoutOrNull
import org.json.JSONObject
import java.io.IOException
import java.util.Base64

/**
 * Reaches the virtual locks of a running simulator (`latchkey sim serve`) at [baseUrl] over its HTTP
 * radio, guarded by the simulator's [managerToken]. Connections use ATT MTU [mtu].
 *
 * It behaves like a radio: a lock the simulator does not know is `NotInRange`; a connection the lock
 * closed is `ConnectionLost`; `receive` waits for a notification up to its timeout.
 */
class SimulatorRadioTransport(
    baseUrl: String,
    managerToken: String = "dev-manager-token",
    private val mtu: Int = 185,
) : BleTransport {
    private val http = SimHttp(baseUrl, managerToken)

    override suspend fun scan(timeoutMs: ULong): List<LockAdvertisement> {
        val body = radio("GET", "/sim/v1/radio/advertisements")
        val list = body.getJSONArray("advertisements")
        return (0 until list.length()).map { index ->
            val advertisement = list.getJSONObject(index)
            LockAdvertisement(hex(advertisement.getString("lockId")), advertisement.getInt("rssi").toShort())
        }.sortedByDescending { it.rssi }
    }

    override suspend fun connect(lockId: ByteArray, timeoutMs: ULong): BleConnection {
        val request = JSONObject().put("lockId", lockId.joinToString("") { "%02x".format(it) }).put("mtu", mtu)
        val answer = radioCall("POST", "/sim/v1/radio/connections", request)
        if (answer.status == 404) {
            throw LatchkeyException.Bluetooth(BluetoothErrorKind.NOT_IN_RANGE, "the lock is not in range: ${answer.message()}")
        }
        val body = expectOk(answer, "connect")
        return BleConnection(RadioLink(http, body.getString("connectionId"), body.getInt("mtu")))
    }

    private suspend fun radio(method: String, path: String, body: JSONObject? = null): JSONObject =
        expectOk(radioCall(method, path, body), "$method $path")

    private suspend fun radioCall(method: String, path: String, body: JSONObject? = null): HttpAnswer = try {
        http.call(method, path, body)
    } catch (error: IOException) {
        throw LatchkeyException.Bluetooth(BluetoothErrorKind.OTHER, "the simulator's radio is unreachable: $error")
    }
}

private fun hex(text: String): ByteArray = ByteArray(text.length / 2) { text.substring(it * 2, it * 2 + 2).toInt(16).toByte() }

private fun expectOk(answer: HttpAnswer, what: String): JSONObject = when (answer.status) {
    in 200..299 -> answer.json()
    409 -> throw LatchkeyException.Bluetooth(BluetoothErrorKind.CONNECTION_LOST, answer.message())
    404 -> throw LatchkeyException.Bluetooth(BluetoothErrorKind.CONNECTION_LOST, answer.message())
    else -> throw LatchkeyException.Bluetooth(BluetoothErrorKind.OTHER, "radio $what answered ${answer.status}: ${answer.message()}")
}

/** One radio connection: notified packets queue in [inbox] until `receive` takes them. */
private class RadioLink(private val http: SimHttp, private val id: String, private val mtu: Int) : BleLink {
    private val inbox = Channel<ByteArray>(Channel.UNLIMITED)

    override fun mtu(): UShort = mtu.toUShort()

    override suspend fun subscribe() {
        deliver(call("POST", "/sim/v1/radio/connections/$id/subscribe", null))
    }

    override suspend fun write(packet: ByteArray) {
        val body = JSONObject().put("packet", Base64.getEncoder().encodeToString(packet))
        deliver(call("POST", "/sim/v1/radio/connections/$id/write", body))
    }

    override suspend fun receive(timeoutMs: ULong): ByteArray =
        withTimeoutOrNull(timeoutMs.toLong()) { inbox.receive() }
            ?: throw LatchkeyException.Bluetooth(BluetoothErrorKind.TIMEOUT, "the lock sent nothing for $timeoutMs ms")

    override suspend fun disconnect() {
        runCatching { http.call("DELETE", "/sim/v1/radio/connections/$id") }
        inbox.close()
    }

    private suspend fun call(method: String, path: String, body: JSONObject?): JSONObject = try {
        expectOk(http.call(method, path, body), "$method $path")
    } catch (error: IOException) {
        throw LatchkeyException.Bluetooth(BluetoothErrorKind.CONNECTION_LOST, "the simulator's radio dropped: $error")
    }

    private fun deliver(body: JSONObject) {
        val packets = body.getJSONArray("packets")
        for (index in 0 until packets.length()) {
            inbox.trySend(Base64.getDecoder().decode(packets.getString(index)))
        }
    }
}
