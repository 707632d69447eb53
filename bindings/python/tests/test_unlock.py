"""The Python bindings against a real simulator (`latchkey sim serve`, started here on a free port): the QA
sample unlocks a virtual lock through a transport written in Python, and misuse gets the error a script can
act on. Run by `cargo xtask python` (part of `cargo xtask test`)."""

from __future__ import annotations

import asyncio
import datetime
import importlib.util
import sys
import uuid
from pathlib import Path

import pytest

import latchkey
from latchkey.testing import Simulator, SimulatorControl, SimulatorRadioTransport

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "examples" / "python" / "unlock_qa.py"


def load_sample():
    spec = importlib.util.spec_from_file_location("unlock_qa", SAMPLE)
    assert spec is not None and spec.loader is not None, f"cannot load {SAMPLE}"
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is created
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def simulator():
    with Simulator() as running:
        yield running


def test_the_qa_sample_unlocks_a_virtual_lock_through_a_python_transport(simulator, tmp_path):
    outcome = asyncio.run(load_sample().run(simulator.url, str(tmp_path)))

    lock = next((lock for lock in outcome.locks if lock.id == outcome.door_uuid), None)
    assert lock is not None, f"the invited door must be among the user's locks: {outcome.locks}"
    assert lock.has_credential, "a PERMANENT access on an activated door must bring a BLE credential"
    assert outcome.events == [
        latchkey.UnlockEvent.STARTED(lock_id=outcome.door_uuid),
        latchkey.UnlockEvent.SUCCESS(lock_id=outcome.door_uuid),
    ], f"unlock events in order: {outcome.events}"
    assert outcome.sync.log_uploads_pending == 0, f"the lock's log must reach the backend: {outcome.sync}"
    assert any(
        entry.method == latchkey.AccessMethod.BLE
        and entry.result == latchkey.AccessResult.GRANTED
        and entry.user_uuid == outcome.user_uuid
        for entry in outcome.access_log
    ), f"the access log must show the user's BLE unlock: {outcome.access_log}"


class OutOfRange(latchkey.BleTransport):
    """A transport that never hears any lock, as a phone far from the door."""

    async def scan(self, timeout_ms):
        return []

    async def connect(self, lock_id, timeout_ms):
        raise latchkey.LatchkeyError.Bluetooth(
            kind=latchkey.BluetoothErrorKind.NOT_IN_RANGE, detail="nothing heard (test transport)"
        )


async def signed_in_phone(base_url: str, store_dir: Path, transport):
    """A partner, a door with a virtual lock and a user invited to it, signed in on a new phone."""
    latchkey.uniffi_set_event_loop(asyncio.get_running_loop())
    sim = SimulatorControl(base_url)
    partner = sim.create_partner("Errors Inc")
    building = sim.create_building("Error House", "Asia/Tokyo")
    door = sim.create_door(building, "Side door")
    sim.activate_door(door, f"LK-PY-{uuid.uuid4().hex[:8]}")
    sim.grant_doors_to_partner("Errors key", [door], partner.uuid)
    partner_client = latchkey.PartnerClient(base_url, partner.client_id, partner.client_secret)
    email = f"py-{uuid.uuid4().hex[:8]}@example.com"
    request = latchkey.CreateUserRequest(
        first_name="Alan",
        last_name="Turing",
        email=email,
        phone=None,
        start_time=datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=1),
        end_time=None,
        door_uuids=[door],
        shareable=False,
        passcode_type=latchkey.PasscodeType.PERMANENT,
        role=latchkey.Role.NON_RESIDENT,
        should_notify=True,
    )
    created = await partner_client.create_user(request)
    # The doorcode arrives as latchkey's SecretText: printed records never show it, reveal() does.
    code = created.accesses[0].doorcode.code
    assert code.reveal().isdigit() and len(code.reveal()) == 7
    assert code.reveal() not in repr(created) and "*******" in str(code), repr(created)
    auth = latchkey.AuthClient(base_url, partner.client_id, partner.client_secret)
    await auth.passwordless_start(email)
    session = await auth.exchange_otp(email, sim.latest_otp(email))
    config = latchkey.DoorClientConfig(
        base_url=base_url,
        client_id=partner.client_id,
        store_path=str(store_dir / "phone.sqlite"),
        device_name="pytest phone",
        connect_timeout_ms=2_000,
        message_timeout_ms=3_000,
        exchange_timeout_ms=15_000,
        http_timeout_ms=10_000,
    )
    client = await latchkey.DoorClient.setup(config, session, transport, latchkey.software_signer())
    await client.fetch_locks()
    return door, partner_client, request, client


def test_misuse_gets_an_error_a_script_can_act_on(simulator, tmp_path):
    async def scenario():
        door, partner_client, request, client = await signed_in_phone(simulator.url, tmp_path, OutOfRange())

        with pytest.raises(latchkey.LatchkeyError.UnknownLock) as unknown:
            await client.unlock(str(uuid.uuid4()))
        assert "fetchLocks" in unknown.value.detail or "refresh" in unknown.value.detail, unknown.value.detail

        # The Python transport's own error crosses into Rust and back with its kind.
        with pytest.raises(latchkey.LatchkeyError.Bluetooth) as far:
            await client.unlock(door)
        assert far.value.kind == latchkey.BluetoothErrorKind.NOT_IN_RANGE, far.value

        request.email = "not-an-email"
        with pytest.raises(latchkey.LatchkeyError.InvalidRequest) as invalid:
            await partner_client.create_user(request)
        assert invalid.value.field == "email", invalid.value

    asyncio.run(scenario())


def test_the_simulator_radio_says_not_in_range_for_an_unknown_lock(simulator):
    async def scenario():
        with pytest.raises(latchkey.LatchkeyError.Bluetooth) as far:
            await SimulatorRadioTransport(simulator.url).connect(bytes(16), 1_000)
        assert far.value.kind == latchkey.BluetoothErrorKind.NOT_IN_RANGE, far.value

    asyncio.run(scenario())

