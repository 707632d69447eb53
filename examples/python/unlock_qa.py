#!/usr/bin/env python3
"""A QA script: set up a partner, a building and a door with a virtual lock in the simulator, invite a user,
sign them in, and unlock the door from a phone whose BLE transport is written in Python (the simulator's
radio) — then sync the lock and read its access log.

    cargo xtask python                     # builds the bindings into <target>/python/site
    PYTHONPATH=<target>/python/site LATCHKEY_BIN=<target>/debug/latchkey python3 examples/python/unlock_qa.py
    ... --sim-url http://127.0.0.1:8787    # or use a simulator already running

The pytest suite of the Python bindings runs `run()` below, so this script cannot rot.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import latchkey
from latchkey.testing import Simulator, SimulatorControl, SimulatorRadioTransport


@dataclass
class Outcome:
    """What the script saw, for a person (printed) or a test (asserted)."""

    door_uuid: str
    user_uuid: str
    locks: list = field(default_factory=list)
    events: list = field(default_factory=list)
    sync: object = None
    access_log: list = field(default_factory=list)


class EventRecorder(latchkey.UnlockEventListener):
    """Collects unlock events (called on an SDK thread)."""

    def __init__(self) -> None:
        self.events: list = []

    def on_event(self, event) -> None:
        self.events.append(event)


async def run(base_url: str, store_dir: str) -> Outcome:
    """The whole walk from an empty simulator at `base_url` to an unlocked, synced door."""
    # The SDK calls the Python transport's coroutines from its own threads: give it this loop.
    latchkey.uniffi_set_event_loop(asyncio.get_running_loop())
    sim = SimulatorControl(base_url)
    partner = sim.create_partner("QA Stays")
    building = sim.create_building("QA House", "Europe/Madrid")
    door = sim.create_door(building, "Front door")
    sim.activate_door(door, f"LK-QA-{uuid.uuid4().hex[:8]}")
    sim.grant_doors_to_partner("QA key", [door], partner.uuid)

    # The partner's backend invites the user; the user signs in with the emailed one-time code.
    partner_client = latchkey.PartnerClient(base_url, partner.client_id, partner.client_secret)
    email = f"qa-{uuid.uuid4().hex[:8]}@example.com"
    user = await partner_client.create_user(
        latchkey.CreateUserRequest(
            first_name="Grace",
            last_name="Hopper",
            email=email,
            phone=None,
            start_time=datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=1),
            end_time=None,
            door_uuids=[door],
            shareable=True,
            passcode_type=latchkey.PasscodeType.PERMANENT,
            role=latchkey.Role.NON_RESIDENT,
            should_notify=True,
        )
    )
    auth = latchkey.AuthClient(base_url, partner.client_id, partner.client_secret)
    await auth.passwordless_start(email)
    session = await auth.exchange_otp(email, sim.latest_otp(email))

    # The user's phone: the Rust core with a Python BLE transport and an in-memory device key.
    config = latchkey.DoorClientConfig(
        base_url=base_url,
        client_id=partner.client_id,
        store_path=str(Path(store_dir) / f"{email}.sqlite"),
        device_name="QA script phone",
        connect_timeout_ms=10_000,
        message_timeout_ms=3_000,
        exchange_timeout_ms=15_000,
        http_timeout_ms=10_000,
    )
    client = await latchkey.DoorClient.setup(
        config, session, SimulatorRadioTransport(base_url), latchkey.software_signer()
    )
    outcome = Outcome(door_uuid=door, user_uuid=user.user_uuid)
    outcome.locks = await client.fetch_locks()

    recorder = EventRecorder()
    subscription = client.listen_for_unlock_events(recorder)
    await client.unlock(door)
    outcome.sync = await client.sync(door)
    outcome.access_log = await client.access_logs(door)
    # Events arrive on an SDK thread; the last one may land just after unlock() returned.
    for _ in range(100):
        if len(recorder.events) >= 2:
            break
        await asyncio.sleep(0.05)
    subscription.cancel()
    outcome.events = list(recorder.events)
    return outcome


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sim-url", help="a running simulator (default: start one with $LATCHKEY_BIN)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="latchkey-qa-") as store_dir:
        if args.sim_url:
            outcome = asyncio.run(run(args.sim_url, store_dir))
        else:
            with Simulator() as simulator:
                outcome = asyncio.run(run(simulator.url, store_dir))
    print(f"door {outcome.door_uuid}: {len(outcome.locks)} lock(s) listed")
    for event in outcome.events:
        print(f"  unlock event: {event}")
    print(f"  sync: {outcome.sync}")
    for entry in outcome.access_log:
        print(f"  access log: {entry.method} {entry.result} by {entry.user_uuid}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
