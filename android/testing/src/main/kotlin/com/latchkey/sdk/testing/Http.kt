// A small JSON-over-HTTP helper for the simulator's control endpoints (HttpURLConnection and org.json, both
// present on Android and on the JVM with org.json on the class path).
package com.latchkey.sdk.testing

import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext
import org.json.JSONObject
import java.net.HttpURLConnection
import java.net.URI

/** An answer of the simulator: status and body (JSON text, possibly empty). */
class HttpAnswer(val status: Int, val body: String) {
    /** The body as a JSON object (empty object for an empty body). */
    fun json(): JSONObject = if (body.isBlank()) JSONObject() else JSONObject(body)

    /** The simulator's error message, or the body. */
    fun message(): String = runCatching { json().optString("message", body) }.getOrDefault(body)
}

/**
 * Calls the simulator at `baseUrl` with its manager token: [call] off the calling thread, [callBlocking] on it
 * (for code that runs on a thread of its own, such as the Robolectric tests' simulated Binder thread).
 */
class SimHttp(baseUrl: String, private val managerToken: String) {
    private val base = baseUrl.trimEnd('/')

    /** `method` `path` with an optional JSON `body`, on the IO dispatcher. */
    suspend fun call(method: String, path: String, body: JSONObject? = null): HttpAnswer =
        withContext(Dispatchers.IO) { callBlocking(method, path, body) }

    /** Like [call], blocking the calling thread. */
    fun callBlocking(method: String, path: String, body: JSONObject? = null): HttpAnswer {
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
            val text = stream?.use { it.readBytes().decodeToString() } ?: ""
            return HttpAnswer(status, text)
        } finally {
            connection.disconnect()
        }
    }

    /** Like [call], failing with the simulator's message unless the status is 2xx. */
    suspend fun ok(method: String, path: String, body: JSONObject? = null): JSONObject {
        val answer = call(method, path, body)
        check(answer.status in 200..299) { "$method $path answered ${answer.status}: ${answer.message()}" }
        return answer.json()
    }
}
