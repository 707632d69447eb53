//! Link settings of the shipped library, with the size profile only (`release-mobile`, opt-level "z"):
//! - pack the dynamic relative relocations, which otherwise take about 0.24 MB of the stripped library:
//!   Linux hosts (glibc 2.36+) get standard RELR; Android gets the Android packed format, which its
//!   loader reads from API 23 (RELR would need API 28+/30+);
//! - fold identical functions (`--icf=all`; both the host's rust-lld and the NDK's lld have it): many
//!   monomorphized copies are byte-identical. Rust makes no promise that function addresses are unique.
//!
//! Figures before and after: docs/performance.md, "`cdylib_stripped_bytes`".

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let size_profile = std::env::var("OPT_LEVEL").is_ok_and(|level| level == "z");
    if !size_profile {
        return;
    }
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "android" || os == "linux" {
        println!("cargo:rustc-cdylib-link-arg=-Wl,--icf=all");
    }
    if os == "android" {
        println!("cargo:rustc-cdylib-link-arg=-Wl,--pack-dyn-relocs=android");
    } else if os == "linux" && env == "gnu" {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-z,pack-relative-relocs");
    }
}
