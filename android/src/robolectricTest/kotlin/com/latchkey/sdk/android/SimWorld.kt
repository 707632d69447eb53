// The simulator's side of a test: a partner with one activated door, and a user of that door signed in on
// a new phone (a DoorClient through the generated bindings, the JNA bridge and the host library).
package com.latchkey.sdk.android

import com.latchkey.sdk.AuthClient
import com.latchkey.sdk.BleTransport
import com.latchkey.sdk.CreateUserRequest
import com.latchkey.sdk.DoorClient
import com.latchkey.sdk.DoorClientConfig
import com.latchkey.sdk.PartnerClient
import com.latchkey.sdk.PasscodeType
import com.latchkey.sdk.Role
import com.latchkey.sdk.Signer
import com.latchkey.sdk.testing.SimulatorControl
import java.io.File
import java.nio.ByteBuffer
import java.nio.file.Files
import java.time.Instant
import java.util.UUID

/** The simulator at `-Dlatchkey.sim.url` (set by `cargo xtask android`). */
val simulatorUrl: String
    get() = System.getProperty("latchkey.sim.url")
        ?: error("set -Dlatchkey.sim.url to a running simulator (cargo xtask android does)")

/** One door with its virtual lock, granted to a partner. */
class SimWorld private constructor(val baseUrl: String, val door: String, private val control: SimulatorControl) {
    private val partner = PartnerCredentialsHolder()

    /** The lock id the door's lock advertises: the door uuid's 16 bytes. */
    val lockId: ByteArray
        get() = UUID.fromString(door).let {
            ByteBuffer.allocate(16).putLong(it.mostSignificantBits).putLong(it.leastSignificantBits).array()
        }

    companion object {
        /** A partner, a building, an activated door and a key giving the partner the door. */
        suspend fun create(baseUrl: String = simulatorUrl): SimWorld {
            val control = SimulatorControl(baseUrl)
            val tag = UUID.randomUUID().toString().take(8)
            val credentials = control.createPartner("Android Test Stays $tag")
            val building = control.createBuilding("Robolectric House $tag", "Europe/Berlin")
            val door = control.createDoor(building, "Front door")
            control.activateDoor(door, "LK-AN-$tag")
            control.grantDoorsToPartner("Android key $tag", listOf(door), credentials.uuid)
            return SimWorld(baseUrl, door, control).also { it.partner.credentials = credentials }
        }
    }

    /**
     * A new user of the door, invited by the partner and signed in with the emailed code, on a phone
     * using [transport] and [signer]. The caller closes the client.
     */
    suspend fun phone(transport: BleTransport, signer: Signer): DoorClient {
        val credentials = partner.credentials
        val email = "android-${UUID.randomUUID().toString().take(8)}@example.com"
        PartnerClient(baseUrl, credentials.clientId, credentials.clientSecret).use { partnerClient ->
            partnerClient.createUser(
                CreateUserRequest(
                    firstName = "Ada",
                    lastName = "Lovelace",
                    email = email,
                    phone = null,
                    startTime = Instant.now().minusSeconds(60),
                    endTime = null,
                    doorUuids = listOf(door),
                    shareable = false,
                    passcodeType = PasscodeType.PERMANENT,
                    role = Role.NON_RESIDENT,
                    shouldNotify = true,
                ),
            )
        }
        val session = AuthClient(baseUrl, credentials.clientId, credentials.clientSecret).use { auth ->
            auth.passwordlessStart(email)
            auth.exchangeOtp(email, control.latestOtp(email))
        }
        val store: File = Files.createTempDirectory("latchkey-android-test").toFile()
        store.deleteOnExit()
        val config = DoorClientConfig(
            baseUrl = baseUrl,
            clientId = credentials.clientId,
            storePath = File(store, "phone.sqlite").path,
            deviceName = "Robolectric phone",
            messageTimeoutMs = 5_000uL,
        )
        return DoorClient.setup(config, session, transport, signer)
    }
}

/** The partner's credentials, kept out of toString(). */
private class PartnerCredentialsHolder {
    lateinit var credentials: com.latchkey.sdk.testing.PartnerCredentials
}
