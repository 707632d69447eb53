// The lock side of the Robolectric tests: blocking calls to a running simulator's HTTP radio
// (/sim/v1/radio, sim/src/backend/radio.rs), made from the simulated Binder thread of VirtualLockPeripheral.
package com.latchkey.sdk.android

import org.json.JSONObject
import java.net.HttpURLConnection
import java.net.URI
import java.util.Base64

/** What the radio answered: packets the lock notified, or that the lock closed the connection. */
sealed class RadioAnswer {
    /** The lock's notified packets, in order. */
    class Packets(val packets: List<ByteArray>) : RadioAnswer()

    /** The lock ended the connection (a finished unlock, a protocol error). */
    class Closed(val message: String) : RadioAnswer()
}

/** The simulator at [baseUrl], reached with its manager token. */
class SimulatorRadio(baseUrl: String, private val managerToken: String = "dev-manager-token") {
    private val base = baseUrl.trimEnd('/')

    /** Opens a connection to the lock [lockId] at ATT MTU [mtu]; returns its id. */
    fun connect(lockId: ByteArray, mtu: Int): String {
        val hex = lockId.joinToString("") { "%02x".format(it) }
        val (status, body) = call("POST", "/sim/v1/radio/connections", JSONObject().put("lockId", hex).put("mtu", mtu))
        check(status == 200) { "the radio refused to connect to $hex: $status $body" }
        return JSONObject(body).getString("connectionId")
    }

    /** Enables notifications: the lock's Hello. */
    fun subscribe(connection: String): RadioAnswer = packets(call("POST", "/sim/v1/radio/connections/$connection/subscribe", null))

    /** One ATT write; the packets the lock notifies in answer. */
    fun write(connection: String, packet: ByteArray): RadioAnswer {
        val body = JSONObject().put("packet", Base64.getEncoder().encodeToString(packet))
        return packets(call("POST", "/sim/v1/radio/connections/$connection/write", body))
    }

    /** Drops the connection (idempotent). */
    fun disconnect(connection: String) {
        call("DELETE", "/sim/v1/radio/connections/$connection", null)
    }

    private fun packets(answer: Pair<Int, String>): RadioAnswer {
        val (status, body) = answer
        if (status == 409 || status == 404) return RadioAnswer.Closed(body)
        check(status == 200) { "the radio answered $status: $body" }
        val list = JSONObject(body).getJSONArray("packets")
        return RadioAnswer.Packets((0 until list.length()).map { Base64.getDecoder().decode(list.getString(it)) })
    }

    private fun call(method: String, path: String, body: JSONObject?): Pair<Int, String> {
        val connection = URI("$base$path").toURL().openConnection() as HttpURLConnection
        try {
            connection.requestMethod = method
            connection.connectTimeout = 5_000
            connection.readTimeout = 10_000
            connection.setRequestProperty("Authorization", "Bearer $managerToken")
            if (body != null) {
                connection.doOutput = true
                connection.setRequestProperty("Content-Type", "application/json")
                connection.outputStream.use { it.write(body.toString().toByteArray()) }
            }
            val status = connection.responseCode
            val stream = if (status >= 400) connection.errorStream else connection.inputStream
            return status to (stream?.use { it.readBytes().decodeToString() } ?: "")
        } finally {
            connection.disconnect()
        }
    }
}
