//! `cargo xtask size`: the size of the library phones ship — `latchkey-ffi` built with the
//! `release-mobile` profile (opt-level "z", LTO, one codegen unit, unwind) for the host, a copy stripped
//! with `strip --strip-all` — against the 4,000,000-byte budget. The unstripped build stays for
//! generating bindings (stripping removes UniFFI's metadata).

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};

use crate::figures::{Ctx, Figures};
use crate::{cargo, require, step, target_dir};

/// The budget of the stripped library, in bytes (issue 7).
pub const BUDGET_BYTES: u64 = 4_000_000;

/// SQLite features the phone's store never uses, compiled out of the bundled SQLite of the shipped library
/// (full-text search, R-trees, the dbstat table, soundex, stat4, JSON functions, extension loading,
/// deprecated and shared-cache APIs, column metadata, UTF-16 and date functions, tracing, the authorizer,
/// incremental blob I/O, introspection pragmas, and three query optimizations the store's small queries do
/// not need). The Gradle build passes the same `LIBSQLITE3_FLAGS`
/// to cargo-ndk (android/build.gradle.kts).
pub const SQLITE_FLAGS: &str = "-USQLITE_ENABLE_FTS3 -USQLITE_ENABLE_FTS3_PARENTHESIS -USQLITE_ENABLE_FTS5 \
     -USQLITE_ENABLE_RTREE -USQLITE_ENABLE_DBSTAT_VTAB -USQLITE_SOUNDEX -USQLITE_ENABLE_STAT4 \
     -USQLITE_ENABLE_LOAD_EXTENSION -DSQLITE_OMIT_LOAD_EXTENSION -DSQLITE_OMIT_JSON -DSQLITE_OMIT_DEPRECATED \
     -DSQLITE_OMIT_SHARED_CACHE -DSQLITE_OMIT_PROGRESS_CALLBACK -DSQLITE_OMIT_COMPLETE \
     -DSQLITE_OMIT_GET_TABLE -DSQLITE_OMIT_TCL_VARIABLE -USQLITE_ENABLE_COLUMN_METADATA \
     -DSQLITE_DEFAULT_MEMSTATUS=0 -DSQLITE_OMIT_UTF16 -DSQLITE_OMIT_DATETIME_FUNCS -DSQLITE_OMIT_TRACE \
     -DSQLITE_OMIT_INTROSPECTION_PRAGMAS -DSQLITE_OMIT_AUTHORIZATION -DSQLITE_OMIT_INCRBLOB \
     -DSQLITE_OMIT_BETWEEN_OPTIMIZATION -DSQLITE_OMIT_LIKE_OPTIMIZATION -DSQLITE_OMIT_XFER_OPT";

/// Builds the release-mobile cdylib; returns its directory.
pub fn build_release() -> anyhow::Result<PathBuf> {
    let mut build = cargo();
    build.args(["build", "-p", "latchkey-ffi", "--lib", "--profile", "release-mobile"]);
    build.env("LIBSQLITE3_FLAGS", SQLITE_FLAGS);
    step("build latchkey-ffi (release-mobile)", build)?;
    Ok(target_dir().join("release-mobile"))
}

/// Builds, strips a copy, and returns (stripped bytes, unstripped bytes).
fn measure() -> anyhow::Result<(u64, u64)> {
    require("strip", "to strip the library (Debian: binutils)")?;
    let dir = build_release()?;
    let library = dir.join("liblatchkey_ffi.so");
    let stripped = dir.join("liblatchkey_ffi.stripped.so");
    std::fs::copy(&library, &stripped).with_context(|| format!("copying {}", library.display()))?;
    let status =
        Command::new("strip").arg("--strip-all").arg(&stripped).status().context("could not run strip")?;
    if !status.success() {
        bail!("strip --strip-all {} failed", stripped.display());
    }
    let size = |path: &PathBuf| {
        std::fs::metadata(path).map(|meta| meta.len()).with_context(|| path.display().to_string())
    };
    Ok((size(&stripped)?, size(&library)?))
}

/// `cargo xtask size`: prints the sizes; fails over budget.
pub fn run() -> anyhow::Result<()> {
    let (stripped, unstripped) = measure()?;
    eprintln!("liblatchkey_ffi.so (release-mobile, host): {unstripped} bytes; stripped: {stripped} bytes");
    eprintln!("budget: {BUDGET_BYTES} bytes stripped");
    if stripped > BUDGET_BYTES {
        bail!("the stripped library is {stripped} bytes, over the budget of {BUDGET_BYTES}");
    }
    Ok(())
}

/// `cdylib_stripped_bytes` for `cargo xtask bench`.
pub fn bench_figures(_ctx: &Ctx) -> anyhow::Result<Figures> {
    let (stripped, _) = measure()?;
    // A byte count is far below 2^53: exact as f64.
    #[allow(clippy::cast_precision_loss)]
    let bytes = stripped as f64;
    Ok(Figures::from([("cdylib_stripped_bytes".to_owned(), bytes)]))
}
