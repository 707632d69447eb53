"""Latchkey for Python: the Rust core's UniFFI bindings, for QA engineers who script the desktop harness.

Everything the Kotlin and Swift SDKs offer is here with Python names (`DoorClient.setup`, `unlock`, `sync`,
`PartnerClient.create_user`, `AuthClient.exchange_otp`, `LatchkeyError.Bluetooth`...); async methods are
coroutines. `latchkey.testing` holds the simulator helpers (start `latchkey sim serve`, its manager API, a
BLE transport over the simulator's radio).

The generated module (`_generated.py`, from `uniffi-bindgen --language python`) and the native library
(`liblatchkey_ffi.so`) are put beside this file by `cargo xtask python`; they are never edited by hand.
"""

from ._generated import *  # noqa: F401,F403 - the generated bindings are the package's API
from ._generated import uniffi_set_event_loop  # noqa: F401 - not in the generated __all__
