// The Latchkey Kotlin SDK against the simulator, end to end, in one file: the customer's setup (what a
// property manager does once), the partner backend inviting a user and signing them in, and the user's
// phone listing its locks and unlocking one, watching the unlock events as a Flow.
//
//   latchkey sim serve --db :memory: --addr 127.0.0.1:8787      # in another terminal
//   java -Djna.library.path=<dir of liblatchkey_ffi.so> -cp <classes and jars> \
//        com.latchkey.sample.UnlockSampleKt http://127.0.0.1:8787
//
// See README.md beside this file for the exact commands.
package com.latchkey.sample

import com.latchkey.sdk.AuthClient
import com.latchkey.sdk.CreateUserRequest
import com.latchkey.sdk.DoorClient
import com.latchkey.sdk.DoorClientConfig
import com.latchkey.sdk.LatchkeyException
import com.latchkey.sdk.PartnerClient
import com.latchkey.sdk.PasscodeType
import com.latchkey.sdk.Role
import com.latchkey.sdk.detail
import com.latchkey.sdk.lockUpdates
import com.latchkey.sdk.softwareSigner
import com.latchkey.sdk.testing.SimulatorControl
import com.latchkey.sdk.testing.SimulatorRadioTransport
import com.latchkey.sdk.unlockEvents
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.flow.collect
import kotlinx.coroutines.flow.takeWhile
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import java.nio.file.Files
import java.time.Instant
import kotlin.system.exitProcess

fun main(args: Array<String>) = runBlocking {
    val baseUrl = args.firstOrNull() ?: "http://127.0.0.1:8787"
    val email = "sample-${System.currentTimeMillis()}@example.com"

    // 1. The customer (property manager) sets up a building with one activated door for a partner.
    val sim = SimulatorControl(baseUrl)
    val partner = sim.createPartner("Sample Stays")
    val building = sim.createBuilding("Sample House", "America/New_York")
    val door = sim.createDoor(building, "Front door")
    sim.activateDoor(door, "LK-SAMPLE-${System.currentTimeMillis() % 100_000}")
    sim.grantDoorsToPartner("Sample key", listOf(door), partner.uuid)

    // 2. The partner's backend invites the user, and signs them in with the code they got by email.
    //    (The client secret lives on the partner's backend, never in the app.)
    val session = PartnerClient(baseUrl, partner.clientId, partner.clientSecret).use { partnerApi ->
        partnerApi.createUser(
            CreateUserRequest(
                firstName = "Sam", lastName = "Sample", email = email, phone = null,
                startTime = Instant.now().minusSeconds(60), endTime = null, doorUuids = listOf(door),
                shareable = false, passcodeType = PasscodeType.PERMANENT, role = Role.NON_RESIDENT,
                shouldNotify = true,
            ),
        )
        AuthClient(baseUrl, partner.clientId, partner.clientSecret).use { auth ->
            auth.passwordlessStart(email)
            auth.exchangeOtp(email, sim.latestOtp(email)) // the user types the code from the email
        }
    }

    // 3. The app: a DoorClient with a Bluetooth transport (here the simulator's radio; on a phone the
    //    SDK's BluetoothGattTransport) and a device key (here in memory; on a phone the Android Keystore).
    val config = DoorClientConfig(
        baseUrl = baseUrl,
        clientId = partner.clientId,
        storePath = Files.createTempDirectory("latchkey-sample").resolve("store.sqlite").toString(),
        deviceName = "Sample phone",
    )
    DoorClient.setup(config, session, SimulatorRadioTransport(baseUrl), softwareSigner()).use { client ->
        client.lockUpdates().collect { locks ->
            println("locks: ${locks.map { "${it.name} (credential: ${it.hasCredential})" }}")
        }
        val lock = client.locks().first { it.id == door }

        val events = launch(Dispatchers.Unconfined) {
            client.unlockEvents().takeWhile { event ->
                println("unlock event: $event")
                event is com.latchkey.sdk.UnlockEvent.Started
            }.collect()
        }
        try {
            client.unlock(lock.id)
            println("${lock.name} is open")
        } catch (error: LatchkeyException) {
            println("unlock failed: ${error.detail}")
            exitProcess(1)
        } finally {
            events.join()
        }
    }
}
