// `ffi_kotlin_call_us`: what one coarse call from Kotlin costs on the JVM — `DoorClient.locks()` served
// from the cache (one lock), averaged over many calls after a warm-up. Run by `cargo xtask bench`, which
// reads the last line of stdout: {"ffi_kotlin_call_us": <microseconds>}.
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

fun main(args: Array<String>) = runBlocking {
    val baseUrl = args[0]
    val calls = args.getOrNull(1)?.toInt() ?: 20_000
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
        check(client.fetchLocks().size == 1) { "the bench user must have one lock" }
        repeat(calls / 4) { check(client.locks().size == 1) }
        val started = System.nanoTime()
        repeat(calls) { check(client.locks().size == 1) }
        val perCall = (System.nanoTime() - started) / 1_000.0 / calls
        System.err.println("DoorClient.locks() from Kotlin: %.1f us per call over %d calls".format(perCall, calls))
        println("{\"ffi_kotlin_call_us\": %.2f}".format(java.util.Locale.ROOT, perCall))
    }
}
