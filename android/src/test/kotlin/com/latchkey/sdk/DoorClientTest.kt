// The Kotlin SDK on the JVM against a running simulator: a partner invites a user, the user's phone (a
// DoorClient with a Kotlin transport over the simulator's radio) lists its locks, unlocks a virtual lock,
// watches unlock events as a Flow, syncs, reads the access log, invites a guest and revokes one, refreshes its
// session and signs out; the partner lists buildings, doors, users and residents, changes and revokes an
// access; and each misuse gets the exception an app can act on. Run by `cargo xtask kotlin` (part of
// `cargo xtask test`).
package com.latchkey.sdk

import com.latchkey.sdk.testing.JcaSigner
import com.latchkey.sdk.testing.PartnerCredentials
import com.latchkey.sdk.testing.SimulatorControl
import com.latchkey.sdk.testing.SimulatorRadioTransport
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.onEach
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows
import java.io.File
import java.nio.file.Files
import java.time.Instant
import java.time.temporal.ChronoUnit
import java.util.UUID

/** How long any one step may take before the test fails (a hang is a failure, not a wait). */
private const val STEP_MS = 20_000L

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DoorClientTest {
    private val baseUrl = System.getProperty("latchkey.sim.url")
        ?: error("set -Dlatchkey.sim.url to a running simulator (cargo xtask kotlin does)")
    private val sim = SimulatorControl(baseUrl)
    private val radio = SimulatorRadioTransport(baseUrl)
    private val stores: File = Files.createTempDirectory("latchkey-kotlin-test").toFile()
    private lateinit var partner: PartnerCredentials
    private lateinit var partnerClient: PartnerClient
    private lateinit var auth: AuthClient
    private lateinit var door: String

    @BeforeAll
    fun world() = runBlocking {
        partner = sim.createPartner("Kotlin Test Stays")
        val building = sim.createBuilding("JVM House", "Europe/Paris")
        door = sim.createDoor(building, "Front door")
        sim.activateDoor(door, "LK-KT-${UUID.randomUUID().toString().take(8)}")
        sim.grantDoorsToPartner("Kotlin key", listOf(door), partner.uuid)
        partnerClient = PartnerClient(baseUrl, partner.clientId, partner.clientSecret)
        auth = AuthClient(baseUrl, partner.clientId, partner.clientSecret)
    }

    @AfterAll
    fun cleanUp() {
        partnerClient.close()
        auth.close()
        stores.deleteRecursively()
    }

    private fun invite(email: String) = CreateUserRequest(
        firstName = "Ada",
        lastName = "Lovelace",
        email = email,
        phone = null,
        startTime = Instant.now().minusSeconds(60),
        endTime = null,
        doorUuids = listOf(door),
        shareable = true,
        passcodeType = PasscodeType.PERMANENT,
        role = Role.NON_RESIDENT,
        shouldNotify = true,
    )

    /** A partner invites a new user, who signs in with the emailed code; their phone is set up. */
    private suspend fun phone(
        transport: BleTransport = radio,
        signer: Signer = softwareSigner(),
    ): Pair<User, DoorClient> {
        val email = "user-${UUID.randomUUID().toString().take(8)}@example.com"
        val user = partnerClient.createUser(invite(email))
        auth.passwordlessStart(email)
        val session = auth.exchangeOtp(email, sim.latestOtp(email))
        val config = DoorClientConfig(
            baseUrl = baseUrl,
            clientId = partner.clientId,
            storePath = File(stores, "$email.sqlite").path,
            deviceName = "JVM test phone",
            messageTimeoutMs = 3_000uL,
        )
        return user to DoorClient.setup(config, session, transport, signer)
    }

    @Test
    fun `the user lists locks cache first, unlocks through a Kotlin transport and sees Started then Success`() =
        runBlocking {
            val (_, client) = phone(signer = JcaSigner())
            client.use {
                val lists = withTimeout(STEP_MS) { client.lockUpdates().toList() }
                assertEquals(2, lists.size, "lockUpdates() must send the cache, then the backend's list: $lists")
                assertTrue(lists[0].isEmpty(), "a new phone's cache must be empty: ${lists[0]}")
                val lock = lists[1].singleOrNull { it.id == door }
                assertNotNull(lock, "the backend's list must hold the invited door $door: ${lists[1]}")
                assertTrue(lock!!.hasCredential, "a PERMANENT access on an activated door must bring a credential")
                assertEquals(listOf(lock.id), client.locks().map { it.id }, "locks() must now serve the cache")

                // Unconfined: the listener is registered before launch returns, so no event is missed.
                val events = async(Dispatchers.Unconfined) { client.unlockEvents().take(2).toList() }
                withTimeout(STEP_MS) { client.unlock(door) }
                assertEquals(
                    listOf(UnlockEvent.Started(door), UnlockEvent.Success(door)),
                    withTimeout(STEP_MS) { events.await() },
                    "unlock events in order",
                )
            }
        }

    @Test
    fun `a sync carries the unlock to the backend's access log`() = runBlocking {
        val (user, client) = phone()
        client.use {
            client.fetchLocks()
            withTimeout(STEP_MS) { client.unlock(door) }
            val summary = withTimeout(STEP_MS) { client.sync(door) }
            assertEquals(0u, summary.logUploadsPending, "the lock's log must reach the backend: $summary")
            val entries = withTimeout(STEP_MS) { client.accessLogs(door) }
            assertTrue(
                entries.any {
                    it.method == AccessMethod.BLE && it.result == AccessResult.GRANTED && it.userUuid == user.userUuid
                },
                "the access log must show this user's BLE unlock: $entries",
            )
        }
    }

    @Test
    fun `the user invites a guest and finds them among their guests`() = runBlocking {
        val (_, client) = phone()
        client.use {
            client.fetchLocks()
            val guestEmail = "guest-${UUID.randomUUID().toString().take(8)}@example.com"
            val response = client.inviteGuests(
                InviteGuestRequest(
                    firstName = "Grace",
                    lastName = "Hopper",
                    email = guestEmail,
                    phone = null,
                    startTime = Instant.now(),
                    endTime = Instant.now().plusSeconds(86_400),
                    doorUuids = listOf(door),
                    passcodeType = PasscodeType.PERMANENT,
                ),
            )
            assertEquals(listOf(true), response.results.map { it.granted }, "the guest must get the door: $response")
            val guests = client.guests()
            assertTrue(guests.any { it.email == guestEmail && it.guestUuid == response.guestUuid }, "guests(): $guests")
        }
    }

    @Test
    fun `a bad request fails before sending with the field to fix`() = runBlocking {
        val error = assertThrows<LatchkeyException.InvalidRequest>("an invalid email must be refused") {
            runBlocking { partnerClient.createUser(invite("not-an-email")) }
        }
        assertEquals("email", error.field, "the error must name the field: ${error.detail}")
        assertTrue(error.detail.contains("email"), "the detail must say what to fix: ${error.detail}")
    }

    @Test
    fun `an unknown lock is UnknownLock`() = runBlocking {
        val (_, client) = phone()
        client.use {
            client.fetchLocks()
            val unknown = UUID.randomUUID().toString()
            val error = assertThrows<LatchkeyException.UnknownLock>("unlocking a lock that is not the user's") {
                runBlocking { client.unlock(unknown) }
            }
            assertEquals(unknown, error.lockId)
            assertTrue(error.detail.contains("fetch_locks") || error.detail.contains("refresh"), error.detail)
        }
    }

    @Test
    fun `a second unlock while one runs is UnlockInProgress, and canceling an unlock reports Canceled`() =
        runBlocking {
            val gate = GatedTransport(radio)
            val (_, client) = phone(transport = gate)
            client.use {
                client.fetchLocks()
                val seen = java.util.concurrent.CopyOnWriteArrayList<UnlockEvent>()
                val events = async(Dispatchers.Unconfined) {
                    client.unlockEvents().take(4).onEach { seen.add(it) }.toList()
                }
                val first = launch { client.unlock(door) }
                withTimeout(STEP_MS) { gate.waiting.await() }
                assertThrows<LatchkeyException.UnlockInProgress>("a second unlock while the first one runs") {
                    runBlocking { client.unlock(door) }
                }
                first.cancel()
                first.join()
                // The Rust side finishes canceling on its own runtime; its Canceled event says the client
                // is free for the next unlock (docs/bindings.md).
                withTimeout(STEP_MS) { while (seen.none { it is UnlockEvent.Canceled }) delay(10) }
                gate.open.complete(Unit)
                withTimeout(STEP_MS) { client.unlock(door) }
                assertEquals(
                    listOf(
                        UnlockEvent.Started(door),
                        UnlockEvent.Canceled(door),
                        UnlockEvent.Started(door),
                        UnlockEvent.Success(door),
                    ),
                    withTimeout(STEP_MS) { events.await() },
                    "the canceled unlock reports Canceled; the next one succeeds",
                )
            }
        }

    @Test
    fun `a hundred concurrent calls from coroutines and threads neither deadlock nor fail`() = runBlocking {
        val (_, client) = phone()
        client.use {
            client.fetchLocks()
            // One call of each kind in turn; unlocks may meet another one in flight, nothing else may fail.
            suspend fun call(n: Int): String = when (n % 6) {
                0 -> client.unlock(door).let { "unlock" }
                1 -> client.sync(door).let { "sync" }
                2 -> client.fetchLocks().let { "fetch" }
                3 -> client.accessLogs(door).let { "access logs" }
                4 -> client.guests().let { "guests" }
                else -> client.locks().let { "locks" }
            }
            val outcomes = java.util.concurrent.ConcurrentHashMap<Int, Result<String>>()
            val threads = (50 until 100).map { n ->
                Thread { outcomes[n] = runCatching { runBlocking { call(n) } } }.also { it.start() }
            }
            val coroutines = (0 until 50).map { n ->
                async(Dispatchers.Default) { outcomes[n] = runCatching { call(n) } }
            }
            withTimeout(STEP_MS * 3) { coroutines.forEach { it.await() } }
            threads.forEach { it.join(STEP_MS * 3) }
            assertEquals(100, outcomes.size, "every call must finish (no deadlock)")
            val failures = outcomes.filterValues { it.isFailure }
            val undocumented = failures.filterValues { it.exceptionOrNull() !is LatchkeyException.UnlockInProgress }
            assertTrue(undocumented.isEmpty(), "only UnlockInProgress may fail a call: $undocumented")
            withTimeout(STEP_MS) { client.unlock(door) }
        }
    }

    @Test
    fun `the app's log sink gets the SDK's lines and none of the secrets they handled`() = runBlocking {
        val lines = java.util.Collections.synchronizedList(mutableListOf<LogRecord>())
        setLogSink(
            object : LogSink {
                override fun log(record: LogRecord) {
                    lines.add(record)
                }
            },
            LogLevel.TRACE,
        )
        try {
            val email = "logs-${UUID.randomUUID().toString().take(8)}@example.com"
            val user = partnerClient.createUser(invite(email))
            val code = user.accesses.first().doorcode.code?.reveal()
            assertTrue(code != null && code.length == 7 && code.all { it.isDigit() }, "reveal() gives the code")
            assertTrue(code!! !in user.toString(), "a printed user masks its doorcode: $user")
            assertTrue("*******" in user.accesses.first().doorcode.toString())
            auth.passwordlessStart(email)
            val otp = sim.latestOtp(email)
            val session = auth.exchangeOtp(email, otp)
            val config = DoorClientConfig(
                baseUrl = baseUrl,
                clientId = partner.clientId,
                storePath = File(stores, "$email.sqlite").path,
                deviceName = "JVM test phone",
                messageTimeoutMs = 3_000uL,
            )
            DoorClient.setup(config, session, radio, softwareSigner()).use { client ->
                client.fetchLocks()
                withTimeout(STEP_MS) { client.unlock(door) }
                withTimeout(STEP_MS) { client.sync(door) }
            }
            val snapshot = synchronized(lines) { lines.toList() }
            assertTrue(snapshot.any { it.target.startsWith("latchkey") }, "the SDK's lines reach the sink: $snapshot")
            val secrets = listOfNotNull(code, otp, partner.clientSecret)
            assertEquals(3, secrets.size, "a PERMANENT invite has a doorcode")
            val leaks = snapshot.filter { line -> secrets.any { it in line.message || it in line.target } }
            assertTrue(leaks.isEmpty(), "no doorcode, one-time code or client secret in ${leaks.size} log lines")
        } finally {
            setLogSink(null, LogLevel.ERROR)
        }
    }

    @Test
    fun `a failing transport is a Bluetooth error with the transport's kind`() = runBlocking {
        val (_, client) = phone(transport = OutOfRange)
        client.use {
            client.fetchLocks()
            val error = assertThrows<LatchkeyException.Bluetooth>("a lock out of range") {
                runBlocking { client.unlock(door) }
            }
            assertEquals(BluetoothErrorKind.NOT_IN_RANGE, error.kind, error.detail)
            assertFalse(client.proximityUnlockRunning())
        }
    }

    @Test
    fun `the partner lists its buildings, doors and users and reads one user`() = runBlocking {
        val email = "listed-${UUID.randomUUID().toString().take(8)}@example.com"
        val created = partnerClient.createUser(invite(email))
        val building = partnerClient.buildings().singleOrNull { building -> partnerClient.doors(building.uuid).any { it.uuid == door } }
        assertNotNull(building, "buildings() must hold the building of the partner's door")
        assertEquals("JVM House", building!!.name)
        assertEquals("Europe/Paris", building.timezone)
        assertTrue(partnerClient.doors(null).any { it.uuid == door && it.name == "Front door" }, "doors(null) lists every door")
        assertTrue(partnerClient.users().any { it.userUuid == created.userUuid }, "users() must list the invited user")
        val read = partnerClient.user(created.userUuid)
        assertEquals(email, read.email)
        assertEquals(listOf(door), read.accesses.map { it.doorUuid })
    }

    @Test
    fun `the partner changes an access's end and sharing, then revokes it`() = runBlocking<Unit> {
        val created = partnerClient.createUser(invite("patched-${UUID.randomUUID().toString().take(8)}@example.com"))
        val end = Instant.now().plusSeconds(86_400).truncatedTo(ChronoUnit.SECONDS)
        val patched = partnerClient.patchAccess(created.userUuid, door, false, end)
        val access = patched.accesses.single { it.doorUuid == door }
        assertEquals(end, access.endTime, "the new end")
        assertFalse(access.shareable, "no longer shareable")

        partnerClient.revokeAccess(created.userUuid, door)
        // With its only access gone, the user is no longer one of this partner's users.
        assertThrows<LatchkeyException.NotFound>("the access is gone") {
            runBlocking { partnerClient.user(created.userUuid) }
        }
        assertTrue(partnerClient.users().none { it.userUuid == created.userUuid }, "users() no longer lists them")
        assertThrows<LatchkeyException.NotFound>("revoking it again finds nothing") {
            runBlocking { partnerClient.revokeAccess(created.userUuid, door) }
        }
    }

    @Test
    fun `a building's residents are the users invited as residents`() = runBlocking {
        val resident = partnerClient.createUser(
            invite("resident-${UUID.randomUUID().toString().take(8)}@example.com").copy(role = Role.RESIDENT),
        )
        val visitor = partnerClient.createUser(invite("visitor-${UUID.randomUUID().toString().take(8)}@example.com"))
        val building = partnerClient.doors(null).single { it.uuid == door }.buildingUuid
        val residents = partnerClient.residents(building)
        val listed = residents.singleOrNull { it.userUuid == resident.userUuid }
        assertNotNull(listed, "residents() must list the resident: $residents")
        assertEquals(listOf(door), listed!!.doorUuids)
        assertTrue(residents.none { it.userUuid == visitor.userUuid }, "a non-resident is not a resident")
    }

    @Test
    fun `refresh gives a session with a new access token that refreshes again`() = runBlocking {
        val email = "refresh-${UUID.randomUUID().toString().take(8)}@example.com"
        partnerClient.createUser(invite(email))
        auth.passwordlessStart(email)
        auth.exchangeOtp(email, sim.latestOtp(email)).use { first ->
            auth.refresh(first).use { second ->
                assertFalse(second.accessToken() == first.accessToken(), "a new access token")
                // The simulator answers a refresh without a new refresh token: the session keeps the one it had.
                assertEquals(first.refreshToken(), second.refreshToken(), "the refresh token is kept")
                assertTrue(second.expiresAt().isAfter(Instant.now()), "the new session is not expired")
                auth.refresh(second).use { third -> assertFalse(third.accessToken() == second.accessToken()) }
            }
        }
    }

    @Test
    fun `the user revokes a guest's access to the lock`() = runBlocking {
        val (_, client) = phone()
        client.use {
            client.fetchLocks()
            val response = client.inviteGuests(
                InviteGuestRequest(
                    firstName = "Alan",
                    lastName = "Turing",
                    email = "revoked-${UUID.randomUUID().toString().take(8)}@example.com",
                    phone = null,
                    startTime = Instant.now(),
                    endTime = Instant.now().plusSeconds(86_400),
                    doorUuids = listOf(door),
                    passcodeType = PasscodeType.PERMANENT,
                ),
            )
            val guest = response.guestUuid
            assertNotNull(guest, "the invite names the guest: $response")
            assertTrue(client.guests().single { it.guestUuid == guest }.accesses.any { it.doorUuid == door })
            client.revokeGuestAccess(guest!!, door)
            val after = client.guests().singleOrNull { it.guestUuid == guest }
            assertTrue(after == null || after.accesses.none { it.doorUuid == door }, "the guest keeps no access: $after")
        }
    }

    @Test
    fun `clear signs out, the cache is gone and every later call is NotSignedIn`() = runBlocking<Unit> {
        val (_, client) = phone()
        client.use {
            assertEquals(listOf(door), client.fetchLocks().map { it.id })
            client.clear()
            assertThrows<LatchkeyException.NotSignedIn>("locks() after clear()") { client.locks() }
            assertThrows<LatchkeyException.NotSignedIn>("fetchLocks() after clear()") { runBlocking { client.fetchLocks() } }
        }
    }

    @Test
    fun `proximity unlock opens the lock in range and stops when asked`() = runBlocking<Unit> {
        val (_, client) = phone()
        client.use {
            client.fetchLocks()
            assertFalse(client.proximityUnlockRunning(), "not running before it is started")
            // Unconfined: the listener is registered before launch returns, so no event is missed.
            val events = async(Dispatchers.Unconfined) { client.unlockEvents().take(2).toList() }
            client.startProximityUnlock(
                ProximitySettings(intervalMs = 200uL, scanTimeoutMs = 1_000uL, cooldownMs = 60_000uL, minRssi = -100),
            )
            assertTrue(client.proximityUnlockRunning(), "running once started")
            assertEquals(
                listOf(UnlockEvent.Started(door), UnlockEvent.Success(door)),
                withTimeout(STEP_MS) { events.await() },
                "the lock in range is opened without a tap",
            )
            client.stopProximityUnlock()
            assertFalse(client.proximityUnlockRunning(), "stopped when asked")
        }
    }
}

/** Holds every connection until [open] completes; [waiting] completes when the first one waits. */
private class GatedTransport(private val inner: BleTransport) : BleTransport {
    val waiting = CompletableDeferred<Unit>()
    val open = CompletableDeferred<Unit>()

    override suspend fun scan(timeoutMs: ULong) = inner.scan(timeoutMs)

    override suspend fun connect(lockId: ByteArray, timeoutMs: ULong): BleConnection {
        waiting.complete(Unit)
        open.await()
        return inner.connect(lockId, timeoutMs)
    }
}

/** A radio that hears nothing. */
private object OutOfRange : BleTransport {
    override suspend fun scan(timeoutMs: ULong) = emptyList<LockAdvertisement>()

    override suspend fun connect(lockId: ByteArray, timeoutMs: ULong): BleConnection =
        throw LatchkeyException.Bluetooth(BluetoothErrorKind.NOT_IN_RANGE, "the lock is not in range: move closer")
}
