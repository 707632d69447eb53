// The lock side of the Robolectric tests: blocking calls to a running simulator's HTTP radio
// (/sim/v1/radio, sim/src/backend/radio.rs), made from the simulated Binder thread of VirtualLockPeripheral.
package com.latchkey.sdk.android

import com.latchkey.sdk.testing.HttpAnswer
import com.latchkey.sdk.testing.SimHttp
import org.json.JSONObject
import java.util.Base64

/** What the radio answered: packets the lock notified, or that the lock closed the connection. */
sealed class RadioAnswer {
    /** The lock's notified packets, in order. */
    class Packets(val packets: List<ByteArray>) : RadioAnswer()

    /** The lock ended the connection (a finished unlock, a protocol error). */
    class Closed(val message: String) : RadioAnswer()
}

/** The simulator at [baseUrl], reached with its manager token. */
class SimulatorRadio(baseUrl: String, managerToken: String = "dev-manager-token") {
    private val http = SimHttp(baseUrl, managerToken)

    /** Opens a connection to the lock [lockId] at ATT MTU [mtu]; returns its id. */
    fun connect(lockId: ByteArray, mtu: Int): String {
        val hex = lockId.joinToString("") { "%02x".format(it) }
        val answer = http.callBlocking("POST", "/sim/v1/radio/connections", JSONObject().put("lockId", hex).put("mtu", mtu))
        check(answer.status == 200) { "the radio refused to connect to $hex: ${answer.status} ${answer.message()}" }
        return answer.json().getString("connectionId")
    }

    /** Enables notifications: the lock's Hello. */
    fun subscribe(connection: String): RadioAnswer = packets(http.callBlocking("POST", "/sim/v1/radio/connections/$connection/subscribe"))

    /** One ATT write; the packets the lock notifies in answer. */
    fun write(connection: String, packet: ByteArray): RadioAnswer {
        val body = JSONObject().put("packet", Base64.getEncoder().encodeToString(packet))
        return packets(http.callBlocking("POST", "/sim/v1/radio/connections/$connection/write", body))
    }

    /** Drops the connection (idempotent). */
    fun disconnect(connection: String) {
        http.callBlocking("DELETE", "/sim/v1/radio/connections/$connection")
    }

    private fun packets(answer: HttpAnswer): RadioAnswer {
        if (answer.status == 409 || answer.status == 404) return RadioAnswer.Closed(answer.body)
        check(answer.status == 200) { "the radio answered ${answer.status}: ${answer.body}" }
        val list = answer.json().getJSONArray("packets")
        return RadioAnswer.Packets((0 until list.length()).map { Base64.getDecoder().decode(list.getString(it)) })
    }
}
