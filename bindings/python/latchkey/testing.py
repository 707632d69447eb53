"""Helpers for QA scripts against the Latchkey simulator (`latchkey sim serve`).

- `Simulator`: starts `latchkey sim serve` on a free loopback port (in memory) and stops it;
- `SimulatorControl`: the customer's side (manager API): partners, buildings, doors, keys, the outbox where
  one-time codes arrive;
- `SimulatorRadioTransport`: a `BleTransport` written in Python that reaches the simulator's virtual locks
  over its HTTP radio (`/sim/v1/radio/...`) with real protocol packets.

Nothing here ships to phones. Standard library only (urllib, json, subprocess).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from . import (
    BleConnection,
    BleLink,
    BleTransport,
    BluetoothErrorKind,
    LatchkeyError,
    LockAdvertisement,
)

DEFAULT_MANAGER_TOKEN = "dev-manager-token"


class SimulatorError(RuntimeError):
    """A simulator control call failed; the message holds the simulator's own words."""


@dataclass
class HttpAnswer:
    """One answer of the simulator: status and parsed JSON body (empty dict for an empty body)."""

    status: int
    body: dict

    def message(self) -> str:
        return str(self.body.get("message", self.body))


class _Http:
    """JSON over HTTP with the manager token (blocking; callers in async code use `asyncio.to_thread`)."""

    def __init__(self, base_url: str, manager_token: str) -> None:
        self.base = base_url.rstrip("/")
        self._token = manager_token

    def call(self, method: str, path: str, body: Optional[dict] = None) -> HttpAnswer:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self._token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, text = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read()
        try:
            parsed = json.loads(text) if text.strip() else {}
        except ValueError:
            parsed = {"message": text.decode(errors="replace")}
        return HttpAnswer(status, parsed if isinstance(parsed, dict) else {"value": parsed})

    def ok(self, method: str, path: str, body: Optional[dict] = None) -> dict:
        answer = self.call(method, path, body)
        if not 200 <= answer.status < 300:
            raise SimulatorError(f"{method} {path} answered {answer.status}: {answer.message()}")
        return answer.body


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def find_latchkey_binary() -> str:
    """The `latchkey` binary: `$LATCHKEY_BIN`, else `latchkey` on PATH."""
    found = os.environ.get("LATCHKEY_BIN") or shutil.which("latchkey")
    if not found or not Path(found).exists():
        raise SimulatorError(
            "the `latchkey` binary was not found: build it (cargo build --bin latchkey) and set LATCHKEY_BIN "
            "to its path, or put it on PATH"
        )
    return found


class Simulator:
    """`latchkey sim serve` with an in-memory database on a free loopback port; a context manager.

    >>> with Simulator() as sim:
    ...     print(sim.url)
    """

    def __init__(self, binary: Optional[str] = None, manager_token: str = DEFAULT_MANAGER_TOKEN) -> None:
        self.binary = binary or find_latchkey_binary()
        self.manager_token = manager_token
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._process: Optional[subprocess.Popen] = None
        self._log = tempfile.NamedTemporaryFile(prefix="latchkey-sim-", suffix=".log", delete=False)

    def start(self, wait_s: float = 30.0) -> "Simulator":
        env = dict(os.environ, LATCHKEY_MANAGER_TOKEN=self.manager_token)
        self._process = subprocess.Popen(
            [self.binary, "sim", "serve", "--db", ":memory:", "--addr", f"127.0.0.1:{self.port}"],
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            env=env,
        )
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise SimulatorError(f"the simulator did not answer /healthz; see its log {self._log.name}")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def __enter__(self) -> "Simulator":
        return self.start()

    def __exit__(self, *_: Any) -> None:
        self.stop()


@dataclass
class PartnerCredentials:
    """A partner's credentials as the customer hands them to the partner's backend."""

    uuid: str
    client_id: str
    client_secret: str

    def __repr__(self) -> str:  # The secret never reaches a log.
        return f"PartnerCredentials(uuid={self.uuid!r}, client_id={self.client_id!r}, client_secret='***')"


class SimulatorControl:
    """The manager API of a running simulator: what a QA script sets up before a phone signs in."""

    def __init__(self, base_url: str, manager_token: str = DEFAULT_MANAGER_TOKEN) -> None:
        self._http = _Http(base_url, manager_token)

    def create_partner(self, name: str) -> PartnerCredentials:
        body = self._http.ok("POST", "/manager/v1/partners", {"name": name})
        return PartnerCredentials(body["uuid"], body["clientId"], body["clientSecret"])

    def create_building(self, name: str, timezone: str) -> str:
        return self._http.ok("POST", "/manager/v1/buildings", {"name": name, "timezone": timezone})["uuid"]

    def create_door(self, building_uuid: str, name: str, communal: bool = True) -> str:
        body = {
            "buildingUuid": building_uuid,
            "name": name,
            "type": "DOOR",
            "accessibilityType": "COMMUNAL" if communal else "PRIVATE",
            "isConnected": False,
        }
        return self._http.ok("POST", "/manager/v1/doors", body)["uuid"]

    def activate_door(self, door_uuid: str, serial_number: str) -> None:
        """The installer's step: the door gets its virtual lock."""
        body = {"serialNumber": serial_number, "deviceType": "M"}
        self._http.ok("POST", f"/manager/v1/doors/{door_uuid}/activate", body)

    def grant_doors_to_partner(self, name: str, door_uuids: list[str], partner_uuid: str) -> str:
        """Groups doors in a key, assigns it to the partner and enables it; returns the key's uuid."""
        key = self._http.ok("POST", "/manager/v1/keys", {"name": name, "doorUuids": door_uuids})["uuid"]
        self._http.ok("PUT", f"/manager/v1/keys/{key}/partner", {"partnerUuid": partner_uuid})
        self._http.ok("POST", f"/manager/v1/keys/{key}/enable")
        return key

    def latest_otp(self, email: str) -> str:
        """The newest one-time sign-in code emailed to `email` (from the simulator's outbox)."""
        messages = self._http.ok("GET", "/manager/v1/outbox")["messages"]
        for message in reversed(messages):
            if message.get("kind") == "OTP" and message.get("recipient") == email:
                return "".join(ch for ch in message["content"] if ch.isdigit())[:6]
        raise SimulatorError(f"no one-time code was sent to {email}: call AuthClient.passwordless_start first")


def _bluetooth(kind: BluetoothErrorKind, detail: str) -> LatchkeyError:
    return LatchkeyError.Bluetooth(kind=kind, detail=detail)


def _expect_ok(answer: HttpAnswer, what: str) -> dict:
    if 200 <= answer.status < 300:
        return answer.body
    if answer.status in (404, 409):
        raise _bluetooth(BluetoothErrorKind.CONNECTION_LOST, answer.message())
    raise _bluetooth(BluetoothErrorKind.OTHER, f"radio {what} answered {answer.status}: {answer.message()}")


class SimulatorRadioTransport(BleTransport):
    """A `BleTransport` over the simulator's radio: it behaves like a radio — a lock the simulator does not
    know is `NOT_IN_RANGE`, a connection the lock closed is `CONNECTION_LOST`, `receive` waits for a
    notification up to its timeout. Packets are the real protocol's, framed by the Rust core.

    Its methods are coroutines run on the event loop given to `latchkey.uniffi_set_event_loop` (the SDK
    calls them from its own threads); HTTP calls run in worker threads so the loop never blocks.
    """

    def __init__(self, base_url: str, manager_token: str = DEFAULT_MANAGER_TOKEN, mtu: int = 185) -> None:
        self._http = _Http(base_url, manager_token)
        self._mtu = mtu

    async def _call(self, method: str, path: str, body: Optional[dict] = None) -> HttpAnswer:
        try:
            return await asyncio.to_thread(self._http.call, method, path, body)
        except OSError as error:
            raise _bluetooth(BluetoothErrorKind.OTHER, f"the simulator's radio is unreachable: {error}") from None

    async def scan(self, timeout_ms: int) -> list[LockAdvertisement]:
        body = _expect_ok(await self._call("GET", "/sim/v1/radio/advertisements"), "scan")
        heard = [
            LockAdvertisement(lock_id=bytes.fromhex(item["lockId"]), rssi=int(item["rssi"]))
            for item in body["advertisements"]
        ]
        return sorted(heard, key=lambda advertisement: advertisement.rssi, reverse=True)

    async def connect(self, lock_id: bytes, timeout_ms: int) -> BleConnection:
        request = {"lockId": bytes(lock_id).hex(), "mtu": self._mtu}
        answer = await self._call("POST", "/sim/v1/radio/connections", request)
        if answer.status == 404:
            raise _bluetooth(BluetoothErrorKind.NOT_IN_RANGE, f"the lock is not in range: {answer.message()}")
        body = _expect_ok(answer, "connect")
        return BleConnection(_RadioLink(self._http, body["connectionId"], int(body["mtu"])))


class _RadioLink(BleLink):
    """One radio connection: notified packets queue in order until `receive` takes them."""

    def __init__(self, http: _Http, connection_id: str, mtu: int) -> None:
        self._http = http
        self._id = connection_id
        self._mtu = mtu
        self._inbox: Optional[asyncio.Queue] = None

    def _queue(self) -> asyncio.Queue:
        # Created on the event loop the SDK's calls run on (the first coroutine call).
        if self._inbox is None:
            self._inbox = asyncio.Queue()
        return self._inbox

    def mtu(self) -> int:
        return self._mtu

    async def _exchange(self, path: str, body: Optional[dict]) -> None:
        inbox = self._queue()
        try:
            answer = await asyncio.to_thread(self._http.call, "POST", path, body)
        except OSError as error:
            raise _bluetooth(BluetoothErrorKind.CONNECTION_LOST, f"the simulator's radio dropped: {error}") from None
        for packet in _expect_ok(answer, path)["packets"]:
            inbox.put_nowait(base64.b64decode(packet))

    async def subscribe(self) -> None:
        await self._exchange(f"/sim/v1/radio/connections/{self._id}/subscribe", None)

    async def write(self, packet: bytes) -> None:
        body = {"packet": base64.b64encode(bytes(packet)).decode()}
        await self._exchange(f"/sim/v1/radio/connections/{self._id}/write", body)

    async def receive(self, timeout_ms: int) -> bytes:
        try:
            return await asyncio.wait_for(self._queue().get(), timeout_ms / 1000)
        except asyncio.TimeoutError:
            raise _bluetooth(BluetoothErrorKind.TIMEOUT, f"the lock sent nothing for {timeout_ms} ms") from None

    async def disconnect(self) -> None:
        try:
            await asyncio.to_thread(self._http.call, "DELETE", f"/sim/v1/radio/connections/{self._id}")
        except OSError:
            pass  # Disconnecting never fails.
