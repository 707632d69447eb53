#!/usr/bin/env bash
# Builds the Latchkey iOS SDK's binary part and its generated Swift, for the Swift package beside this script:
#
#   ios/LatchkeyFFI.xcframework          static liblatchkey_ffi.a for iOS devices (arm64) and the iOS
#                                        simulator (arm64 + x86_64, one fat library made with lipo), each
#                                        with Headers/LatchkeyFFI.h and Headers/module.modulemap
#   ios/Sources/Latchkey/Generated/      the Swift bindings UniFFI generates (never edited by hand)
#
# macOS with Xcode only (xcodebuild, lipo and the iOS SDKs): on any other system it stops at once and says so.
# The libraries use the workspace's `release-mobile` profile (opt-level "z", LTO, one codegen unit, unwind so a
# Rust panic reaches Swift as an error). The bindings are generated in library mode from an unstripped host
# build of the same crate (stripping removes the UniFFI metadata).
#
# Usage: ios/build-xcframework.sh [--zip]
#   --zip   also writes ios/build/LatchkeyFFI.xcframework.zip and prints the checksum Package.swift needs
#           for a release (`swift package compute-checksum`).
#
# Environment: IPHONEOS_DEPLOYMENT_TARGET (default 15.0, as Package.swift), CARGO (default cargo).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
zip=false
for arg in "$@"; do
    case "$arg" in
        --zip) zip=true ;;
        -h | --help)
            sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "error: unknown argument '$arg' (expected --zip or --help)" >&2
            exit 2
            ;;
    esac
done

if [[ "$(uname -s)" != "Darwin" ]]; then
    echo "error: build-xcframework.sh needs macOS with Xcode (xcodebuild, lipo, the iOS SDKs); this is $(uname -s)." >&2
    echo "       On Linux, 'cargo xtask swift-check' runs the checks possible without Xcode." >&2
    exit 1
fi
for tool in xcodebuild lipo xcrun rustup; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "error: '$tool' was not found; install Xcode (and its command line tools) and rustup." >&2
        exit 1
    fi
done

cargo="${CARGO:-cargo}"
export IPHONEOS_DEPLOYMENT_TARGET="${IPHONEOS_DEPLOYMENT_TARGET:-15.0}"
profile="release-mobile"
# The SQLite features the store never uses, compiled out of the bundled SQLite (the same flags as
# xtask/src/size.rs SQLITE_FLAGS, which `cargo xtask test` runs the core's tests against).
export LIBSQLITE3_FLAGS="-USQLITE_ENABLE_FTS3 -USQLITE_ENABLE_FTS3_PARENTHESIS -USQLITE_ENABLE_FTS5 \
-USQLITE_ENABLE_RTREE -USQLITE_ENABLE_DBSTAT_VTAB -USQLITE_SOUNDEX -USQLITE_ENABLE_STAT4 \
-USQLITE_ENABLE_LOAD_EXTENSION -DSQLITE_OMIT_LOAD_EXTENSION -DSQLITE_OMIT_JSON -DSQLITE_OMIT_DEPRECATED \
-DSQLITE_OMIT_SHARED_CACHE -DSQLITE_OMIT_PROGRESS_CALLBACK -DSQLITE_OMIT_COMPLETE -DSQLITE_OMIT_GET_TABLE \
-DSQLITE_OMIT_TCL_VARIABLE -USQLITE_ENABLE_COLUMN_METADATA -DSQLITE_DEFAULT_MEMSTATUS=0 -DSQLITE_OMIT_UTF16 \
-DSQLITE_OMIT_DATETIME_FUNCS -DSQLITE_OMIT_TRACE -DSQLITE_OMIT_INTROSPECTION_PRAGMAS -DSQLITE_OMIT_AUTHORIZATION \
-DSQLITE_OMIT_INCRBLOB -DSQLITE_OMIT_BETWEEN_OPTIMIZATION -DSQLITE_OMIT_LIKE_OPTIMIZATION -DSQLITE_OMIT_XFER_OPT"
targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios)
target_dir="${CARGO_TARGET_DIR:-$root/target}"
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac
build="$here/build"
framework="$here/LatchkeyFFI.xcframework"
generated="$here/Sources/Latchkey/Generated"

echo "==> rustup target add ${targets[*]}"
rustup target add "${targets[@]}"

for target in "${targets[@]}"; do
    echo "==> cargo build latchkey-ffi ($profile, $target)"
    (cd "$root" && "$cargo" build -p latchkey-ffi --lib --profile "$profile" --target "$target")
done

echo "==> Swift bindings, C header and module map (uniffi-bindgen, library mode)"
(cd "$root" && "$cargo" build -p latchkey-ffi --lib --profile "$profile")
(cd "$root" && "$cargo" build -p uniffi-bindgen)
host_library="$target_dir/$profile/liblatchkey_ffi.dylib"
rm -rf "$build/bindings"
mkdir -p "$build/bindings"
(cd "$root" && "$target_dir/debug/uniffi-bindgen" generate --no-format --language swift \
    --library "$host_library" --out-dir "$build/bindings")

# The C module: the header and a module map named module.modulemap (the name Xcode looks for in Headers/).
headers="$build/headers"
rm -rf "$headers"
mkdir -p "$headers"
cp "$build/bindings/LatchkeyFFI.h" "$headers/"
cp "$build/bindings/LatchkeyFFI.modulemap" "$headers/module.modulemap"

echo "==> lipo: one simulator library for arm64 and x86_64"
mkdir -p "$build/ios-simulator"
lipo -create \
    "$target_dir/aarch64-apple-ios-sim/$profile/liblatchkey_ffi.a" \
    "$target_dir/x86_64-apple-ios/$profile/liblatchkey_ffi.a" \
    -output "$build/ios-simulator/liblatchkey_ffi.a"

echo "==> xcodebuild -create-xcframework"
rm -rf "$framework"
xcodebuild -create-xcframework \
    -library "$target_dir/aarch64-apple-ios/$profile/liblatchkey_ffi.a" -headers "$headers" \
    -library "$build/ios-simulator/liblatchkey_ffi.a" -headers "$headers" \
    -output "$framework"

echo "==> generated Swift into Sources/Latchkey/Generated"
rm -rf "$generated"
mkdir -p "$generated"
cp "$build/bindings/"*.swift "$generated/"

if $zip; then
    echo "==> zip and checksum"
    rm -f "$build/LatchkeyFFI.xcframework.zip"
    (cd "$here" && ditto -c -k --sequesterRsrc --keepParent LatchkeyFFI.xcframework "$build/LatchkeyFFI.xcframework.zip")
    checksum="$(cd "$here" && swift package compute-checksum "$build/LatchkeyFFI.xcframework.zip")"
    echo "zip:      $build/LatchkeyFFI.xcframework.zip"
    echo "checksum: $checksum  (set latchkeyFFIRelease in Package.swift to the zip's URL and this checksum)"
fi

echo "done: $framework and $generated"
