// A doorcode as the app holds it: the generated bindings lift the code into this class (bindings/uniffi.toml).
package com.latchkey.sdk

/**
 * A secret, such as a doorcode. [toString] shows `*******`, so a data class holding it (`Lock`, `Access`,
 * `Guest`…) can be logged without leaking the code; read the secret on purpose with [reveal] to show it to
 * the user. Equal when the secrets are equal.
 */
class SecretText(private val value: String) {
    /** The secret itself. Show it to the user; never log it. */
    fun reveal(): String = value

    override fun toString(): String = "*******"

    override fun equals(other: Any?): Boolean = other is SecretText && other.value == value

    override fun hashCode(): Int = value.hashCode()
}
