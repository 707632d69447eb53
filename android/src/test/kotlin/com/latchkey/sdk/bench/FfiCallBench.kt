// `ffi_kotlin_call_us`: what one coarse call from Kotlin costs on the JVM — `DoorClient.locks()` served from
// the cache (one lock with its doorcode), the call a lock screen makes on every refresh. Run by `cargo xtask
// bench`, which reads the last line of stdout: a JSON object of figures.
//
// Each call is timed on its own (System.nanoTime around it) after a warm-up long enough for the JIT to
// compile the call path; the figure is the median of those times, with the 99th percentile and the mean of
// a back-to-back loop beside it. A no-op call (`proximityUnlockRunning()`, a Boolean back, no work in Rust)
// is measured the same way: the fixed cost of crossing JNA and UniFFI, which `locks()` pays too.
package com.latchkey.sdk.bench

import com.latchkey.sdk.AuthClient
import com.latchkey.sdk.CreateUserRequest
import com.latchkey.sdk.DoorClient
import com.latchkey.sdk.DoorClientConfig
import com.latchkey.sdk.PartnerClient
import com.latchkey.sdk.PasscodeType
import com.latchkey.sdk.Role
import com.latchkey.sdk.softwareSigner
import com.latchkey.sdk.testing.SimulatorControl
import com.latchkey.sdk.testing.SimulatorRadioTransport
import kotlinx.coroutines.runBlocking
import java.nio.file.Files
import java.time.Instant
import java.util.Locale

/** Per-call times of [calls] calls of [call], in nanoseconds, sorted. */
private inline fun timeEach(calls: Int, call: () -> Unit): LongArray {
    val times = LongArray(calls)
    for (i in 0 until calls) {
        val started = System.nanoTime()
        call()
        times[i] = System.nanoTime() - started
    }
    times.sort()
    return times
}

private fun LongArray.percentileUs(p: Double): Double = this[((size - 1) * p).toInt()] / 1_000.0

private fun us(value: Double): String = "%.2f".format(Locale.ROOT, value)

fun main(args: Array<String>) = runBlocking {
    val baseUrl = args[0]
    val calls = args.getOrNull(1)?.toInt() ?: 20_000
    val warmUpMs = args.getOrNull(2)?.toLong() ?: 3_000L
    val sim = SimulatorControl(baseUrl)
    val partner = sim.createPartner("Bench")
    val door = sim.createDoor(sim.createBuilding("Bench House", "Europe/Paris"), "Door")
    sim.activateDoor(door, "LK-BENCH-${System.nanoTime() % 100_000}")
    sim.grantDoorsToPartner("Bench key", listOf(door), partner.uuid)
    val email = "bench-${System.nanoTime()}@example.com"
    PartnerClient(baseUrl, partner.clientId, partner.clientSecret).createUser(
        CreateUserRequest(
            "Ben", "Bench", email, null, Instant.now().minusSeconds(60), null, listOf(door), false,
            PasscodeType.PERMANENT, Role.NON_RESIDENT, true,
        ),
    )
    val auth = AuthClient(baseUrl, partner.clientId, partner.clientSecret)
    auth.passwordlessStart(email)
    val session = auth.exchangeOtp(email, sim.latestOtp(email))
    val store = Files.createTempDirectory("latchkey-bench").resolve("store.sqlite").toString()
    val config = DoorClientConfig(baseUrl, partner.clientId, store, "Bench phone")
    DoorClient.setup(config, session, SimulatorRadioTransport(baseUrl), softwareSigner()).use { client ->
        val fetched = client.fetchLocks()
        check(fetched.size == 1 && fetched[0].doorcode?.code != null) { "the bench user must have one lock with a code" }
        val warmUpUntil = System.nanoTime() + warmUpMs * 1_000_000
        while (System.nanoTime() < warmUpUntil) {
            repeat(1_000) {
                check(client.locks().size == 1)
                client.proximityUnlockRunning()
            }
        }
        val locks = timeEach(calls) { check(client.locks().size == 1) }
        val noop = timeEach(calls) { check(!client.proximityUnlockRunning()) }
        val loopStarted = System.nanoTime()
        repeat(calls) { check(client.locks().size == 1) }
        val loopMean = (System.nanoTime() - loopStarted) / 1_000.0 / calls
        System.err.println(
            "DoorClient.locks() from Kotlin over %d calls: median %.1f us, p99 %.1f us, back-to-back mean %.1f us; no-op call median %.1f us"
                .format(Locale.ROOT, calls, locks.percentileUs(0.5), locks.percentileUs(0.99), loopMean, noop.percentileUs(0.5)),
        )
        println(
            "{\"ffi_kotlin_call_us\": ${us(locks.percentileUs(0.5))}, " +
                "\"ffi_kotlin_call_p99_us\": ${us(locks.percentileUs(0.99))}, " +
                "\"ffi_kotlin_call_loop_mean_us\": ${us(loopMean)}, " +
                "\"ffi_kotlin_noop_call_us\": ${us(noop.percentileUs(0.5))}}",
        )
    }
}
