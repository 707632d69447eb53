//! The README's first command: `latchkey demo` must finish and exit 0 with every step done.

use std::process::Command;

#[test]
fn the_demo_runs_every_step_and_exits_zero() {
    let output =
        Command::new(env!("CARGO_BIN_EXE_latchkey")).arg("demo").output().expect("the binary starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "demo failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("Demo finished: all 29 steps succeeded."), "unexpected ending:\n{stdout}");
    for expected in [
        "USER_HAS_RESIDENT_ACCESS",
        "DAILY_SINGLE_USE",
        "404 Not Found",
        "SMS to +12125550147",
        "From the cache, at once",
        "Unlock event: Success. The lobby door opens.",
        "round trip(s)",
        ": granted, the door opens.",
        ": refused, the door stays locked.",
        "Gil's phone still opens the door",
        "Gil's phone: refused, his access was revoked.",
        "GRANTED by Grace Example (BLE)",
        "entry.granted at the lobby for Grace Example by BLE",
        "signature verified",
    ] {
        assert!(stdout.contains(expected), "the demo no longer shows {expected:?}:\n{stdout}");
    }
}

#[test]
fn an_unknown_command_fails_with_usage() {
    let output =
        Command::new(env!("CARGO_BIN_EXE_latchkey")).arg("frobnicate").output().expect("the binary starts");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("Usage"));
}
