// The customer's side of the simulator (its manager API) from Kotlin: what a test or a sample needs
// before an app can sign in — a partner, a building, activated doors, an enabled key — and the outbox
// where one-time codes arrive. Not part of the SDK an app ships.
package com.latchkey.sdk.testing

import org.json.JSONArray
import org.json.JSONObject

/** A partner's credentials, as the customer hands them to the partner's backend. */
data class PartnerCredentials(val uuid: String, val clientId: String, val clientSecret: String) {
    override fun toString() = "PartnerCredentials(uuid=$uuid, clientId=$clientId, clientSecret=***)"
}

/** The manager API of a running simulator at [baseUrl], with its [managerToken]. */
class SimulatorControl(val baseUrl: String, managerToken: String = "dev-manager-token") {
    private val http = SimHttp(baseUrl, managerToken)

    /** Registers a partner; returns its credentials (the secret is shown only here). */
    suspend fun createPartner(name: String): PartnerCredentials {
        val body = http.ok("POST", "/manager/v1/partners", JSONObject().put("name", name))
        return PartnerCredentials(body.getString("uuid"), body.getString("clientId"), body.getString("clientSecret"))
    }

    /** Creates a building in the IANA time zone [timezone]; returns its uuid. */
    suspend fun createBuilding(name: String, timezone: String): String =
        http.ok("POST", "/manager/v1/buildings", JSONObject().put("name", name).put("timezone", timezone))
            .getString("uuid")

    /** Creates a door; returns its uuid. */
    suspend fun createDoor(buildingUuid: String, name: String, communal: Boolean = true, connected: Boolean = false): String =
        http.ok(
            "POST",
            "/manager/v1/doors",
            JSONObject().put("buildingUuid", buildingUuid).put("name", name).put("type", "DOOR")
                .put("accessibilityType", if (communal) "COMMUNAL" else "PRIVATE").put("isConnected", connected),
        ).getString("uuid")

    /** The installer's step: the door gets its (virtual) lock. */
    suspend fun activateDoor(doorUuid: String, serialNumber: String) {
        http.ok("POST", "/manager/v1/doors/$doorUuid/activate", JSONObject().put("serialNumber", serialNumber).put("deviceType", "M"))
    }

    /** Groups [doorUuids] in a key, assigns it to [partnerUuid] and enables it; returns the key's uuid. */
    suspend fun grantDoorsToPartner(name: String, doorUuids: List<String>, partnerUuid: String): String {
        val key = http.ok("POST", "/manager/v1/keys", JSONObject().put("name", name).put("doorUuids", JSONArray(doorUuids)))
            .getString("uuid")
        http.ok("PUT", "/manager/v1/keys/$key/partner", JSONObject().put("partnerUuid", partnerUuid))
        http.ok("POST", "/manager/v1/keys/$key/enable")
        return key
    }

    /** The newest one-time sign-in code emailed to [email] (from the outbox that stands in for email). */
    suspend fun latestOtp(email: String): String {
        val messages = http.ok("GET", "/manager/v1/outbox").getJSONArray("messages")
        for (index in messages.length() - 1 downTo 0) {
            val message = messages.getJSONObject(index)
            if (message.getString("kind") == "OTP" && message.getString("recipient") == email) {
                return message.getString("content").filter { it.isDigit() }.take(6)
            }
        }
        error("no one-time code was sent to $email: call AuthClient.passwordlessStart first")
    }
}
