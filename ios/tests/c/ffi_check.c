/*
 * Drives liblatchkey_ffi through the C header UniFFI generates for Swift (LatchkeyFFI.h), the way the
 * generated Swift does on iOS — so a header that does not compile, a symbol that is missing or a buffer
 * layout that changed fails here, on Linux, without Xcode.
 *
 * Built and run by `cargo xtask swift-check`, which reads from the generated Swift what it verifies at load:
 * the contract version (-DEXPECTED_CONTRACT_VERSION=…) and, in expectations.inc, one
 * CHECK_CHECKSUM(function, value) per API checksum.
 *
 * It checks:
 *  - the contract version and every checksum match what the generated Swift expects;
 *  - software_signer(): a Signer whose public key is a 33-byte compressed P-256 point and whose signature
 *    of a message is 64 bytes r || s with a low S (s <= n/2), as the Signer contract says;
 *  - AuthClient(baseUrl: "not a url", ...) throws LatchkeyError.InvalidRequest with field "baseUrl" and a
 *    detail that says what to fix, and the client secret passed in appears nowhere in the error;
 *  - every RustBuffer and object handle received is freed (run it under valgrind to see none leak).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "LatchkeyFFI.h"

static int failures = 0;

#define CHECK(condition, ...)                                                                             \
    do {                                                                                                  \
        if (!(condition)) {                                                                               \
            fprintf(stderr, "FAILED %s:%d: ", __FILE__, __LINE__);                                       \
            fprintf(stderr, __VA_ARGS__);                                                                 \
            fprintf(stderr, "\n");                                                                        \
            failures++;                                                                                   \
        }                                                                                                 \
    } while (0)

static RustCallStatus status_ok(void) {
    RustCallStatus status;
    memset(&status, 0, sizeof status);
    return status;
}

static void free_buffer(RustBuffer buffer) {
    RustCallStatus status = status_ok();
    ffi_latchkey_ffi_rustbuffer_free(buffer, &status);
    CHECK(status.code == 0, "rustbuffer_free failed (code %d)", status.code);
}

/* A RustBuffer owned by Rust holding `bytes` (what the bindings do to pass a string or bytes). */
static RustBuffer rust_bytes(const uint8_t *bytes, int32_t len) {
    RustCallStatus status = status_ok();
    ForeignBytes foreign = {.len = len, .data = bytes};
    RustBuffer buffer = ffi_latchkey_ffi_rustbuffer_from_bytes(foreign, &status);
    CHECK(status.code == 0, "rustbuffer_from_bytes failed (code %d)", status.code);
    return buffer;
}

/* A top-level String argument: its UTF-8 bytes, no length prefix. */
static RustBuffer rust_string(const char *text) {
    return rust_bytes((const uint8_t *)text, (int32_t)strlen(text));
}

/* A serialized reader over a RustBuffer: big-endian integers, length-prefixed strings and bytes. */
typedef struct {
    const uint8_t *data;
    uint64_t len;
    uint64_t at;
    bool ok;
} Reader;

static Reader reader(RustBuffer buffer) {
    Reader r = {.data = buffer.data, .len = buffer.len, .at = 0, .ok = buffer.data != NULL || buffer.len == 0};
    return r;
}

static uint32_t read_u32(Reader *r) {
    if (r->at + 4 > r->len) {
        r->ok = false;
        return 0;
    }
    const uint8_t *p = r->data + r->at;
    r->at += 4;
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static uint8_t read_u8(Reader *r) {
    if (r->at + 1 > r->len) {
        r->ok = false;
        return 0;
    }
    return r->data[r->at++];
}

/* A length-prefixed byte string (Vec<u8>, String inside a compound); returns a pointer into the buffer. */
static const uint8_t *read_sized(Reader *r, uint32_t *len) {
    *len = read_u32(r);
    if (!r->ok || r->at + *len > r->len) {
        r->ok = false;
        return NULL;
    }
    const uint8_t *start = r->data + r->at;
    r->at += *len;
    return start;
}

static bool contains(const uint8_t *haystack, uint64_t len, const char *needle) {
    size_t n = strlen(needle);
    for (uint64_t i = 0; n <= len && i + n <= len; i++) {
        if (memcmp(haystack + i, needle, n) == 0) return true;
    }
    return false;
}

static void check_contract_and_checksums(void) {
    uint32_t contract = ffi_latchkey_ffi_uniffi_contract_version();
    CHECK(contract == EXPECTED_CONTRACT_VERSION, "contract version %u, the generated Swift expects %u", contract,
          EXPECTED_CONTRACT_VERSION);
    int checked = 0;
#define CHECK_CHECKSUM(function, expected)                                                                \
    do {                                                                                                  \
        uint16_t actual = function();                                                                     \
        CHECK(actual == (expected), "%s() is %u, the generated Swift expects %u", #function,            \
              (unsigned)actual, (unsigned)(expected));                                                    \
        checked++;                                                                                        \
    } while (0);
#include "expectations.inc"
#undef CHECK_CHECKSUM
    printf("contract version %u and %d API checksums match the generated Swift\n", contract, checked);
}

/* P-256 n/2, big-endian: a low-S signature has s <= this. */
static const uint8_t HALF_ORDER[32] = {
    0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8,
};

static void check_software_signer(void) {
    RustCallStatus status = status_ok();
    uint64_t signer = uniffi_latchkey_ffi_fn_func_software_signer(&status);
    CHECK(status.code == 0, "software_signer() failed (code %d)", status.code);
    if (status.code != 0) return;

    status = status_ok();
    RustBuffer key = uniffi_latchkey_ffi_fn_method_signer_public_key(uniffi_latchkey_ffi_fn_clone_signer(signer, &status),
                                                                 &status);
    CHECK(status.code == 0, "Signer.publicKey() failed (code %d)", status.code);
    Reader r = reader(key);
    uint32_t key_len = 0;
    const uint8_t *point = read_sized(&r, &key_len);
    CHECK(r.ok && key_len == 33, "the public key is %u bytes; the contract says 33", key_len);
    CHECK(point != NULL && (point[0] == 0x02 || point[0] == 0x03), "the public key is not a compressed point");
    free_buffer(key);

    /* Vec<u8> argument: serialized, with its big-endian length. */
    const uint8_t message[] = {0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o'};
    status = status_ok();
    RustBuffer signature = uniffi_latchkey_ffi_fn_method_signer_sign(uniffi_latchkey_ffi_fn_clone_signer(signer, &status),
                                                                 rust_bytes(message, sizeof message), &status);
    CHECK(status.code == 0, "Signer.sign() failed (code %d)", status.code);
    r = reader(signature);
    uint32_t signature_len = 0;
    const uint8_t *rs = read_sized(&r, &signature_len);
    CHECK(r.ok && signature_len == 64, "the signature is %u bytes; the contract says 64 (r || s)", signature_len);
    if (rs != NULL && signature_len == 64) {
        CHECK(memcmp(rs + 32, HALF_ORDER, 32) <= 0, "the signature's S is high; the contract says low-S");
    }
    free_buffer(signature);

    status = status_ok();
    uniffi_latchkey_ffi_fn_free_signer(signer, &status);
    CHECK(status.code == 0, "freeing the signer failed (code %d)", status.code);
    printf("software signer: 33-byte compressed key, 64-byte low-S signature\n");
}

static void check_typed_error(void) {
    const char *secret = "super-secret-client-secret";
    RustCallStatus status = status_ok();
    uint64_t client = uniffi_latchkey_ffi_fn_constructor_authclient_new(
        rust_string("not a url"), rust_string("client-id"), rust_string(secret), &status);
    CHECK(status.code == 1, "AuthClient(\"not a url\") must throw LatchkeyError (status 1); got %d", status.code);
    if (status.code != 1) {
        if (status.code == 0) {
            RustCallStatus free_status = status_ok();
            uniffi_latchkey_ffi_fn_free_authclient(client, &free_status);
        } else {
            free_buffer(status.errorBuf);
        }
        return;
    }
    RustBuffer error = status.errorBuf;
    CHECK(!contains(error.data, error.len, secret), "the error holds the client secret");
    Reader r = reader(error);
    uint32_t variant = read_u32(&r); /* 1-based: InvalidRequest is the first variant. */
    CHECK(r.ok && variant == 1, "expected LatchkeyError.InvalidRequest (variant 1); got variant %u", variant);
    uint8_t has_field = read_u8(&r);
    uint32_t field_len = 0;
    const uint8_t *field = has_field ? read_sized(&r, &field_len) : NULL;
    CHECK(r.ok && field != NULL && field_len == 7 && memcmp(field, "baseUrl", 7) == 0,
          "InvalidRequest.field must be \"baseUrl\"");
    uint32_t detail_len = 0;
    const uint8_t *detail = read_sized(&r, &detail_len);
    CHECK(r.ok && detail != NULL && detail_len > 10, "InvalidRequest.detail must say what to fix");
    if (detail != NULL) printf("AuthClient(\"not a url\") -> InvalidRequest(field: baseUrl, detail: \"%.*s\")\n",
                               (int)detail_len, (const char *)detail);
    free_buffer(error);
}

int main(void) {
    check_contract_and_checksums();
    check_software_signer();
    check_typed_error();
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("all C checks passed\n");
    return 0;
}
