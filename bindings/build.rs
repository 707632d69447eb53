//! Link settings of the shipped library: with the size profile (`release-mobile`, opt-level "z"), pack the
//! dynamic relative relocations, which otherwise take about 0.24 MB of the stripped library
//! (docs/bindings.md, "Sizes"). Linux hosts (GNU ld 2.38+, glibc 2.36+) get standard RELR; Android gets
//! the Android packed format, which its loader reads from API 23 (RELR would need API 28+/30+).

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let size_profile = std::env::var("OPT_LEVEL").is_ok_and(|level| level == "z");
    if !size_profile {
        return;
    }
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "android" {
        println!("cargo:rustc-cdylib-link-arg=-Wl,--pack-dyn-relocs=android");
    } else if os == "linux" && env == "gnu" {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-z,pack-relative-relocs");
    }
}
