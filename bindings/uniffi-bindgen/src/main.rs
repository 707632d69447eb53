//! `uniffi-bindgen`, pinned to the UniFFI version `latchkey-ffi` is built with (a mismatch between the
//! generator and the scaffolding fails at load time with a checksum error).
//!
//! `cargo run -p uniffi-bindgen -- generate --library <unstripped liblatchkey_ffi.so> --language kotlin
//! --out-dir <dir>`; `cargo xtask kotlin` runs it for the tests.

fn main() {
    uniffi::uniffi_bindgen_main()
}
