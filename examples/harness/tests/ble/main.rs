//! The BLE path end to end: the phone's flows over the real btleplug transport, through a fake BlueZ on a
//! private D-Bus, to the simulator's virtual locks. `cargo xtask test` starts the `dbus-daemon` and sets
//! `DBUS_SYSTEM_BUS_ADDRESS`; without it every test here skips with a note.

mod bleak;
mod cli;
mod faults;
mod fixture;
mod scan;
mod sync;
mod unlock;
