"""Schemathesis hooks for `cargo xtask conformance` (loaded through SCHEMATHESIS_HOOKS).

The xtask sets up a portfolio on a fresh simulator through its own API and passes the tokens and ids in
LK_* environment variables. These hooks give every generated request the caller its endpoint expects
(manager, partner or user token; the manager web page's session cookie), and often swap generated ids for
real ones (path parameters, door lists, dates), so requests reach the handlers' deep paths (grants,
doorcodes, notifications, credentials) instead of stopping at a 404. Deterministic: the choice depends
on a CRC of the generated value, never on a random draw.

The simulator's controls (`/sim/v1/controls/...`) change the world every later case runs in, so their
generated requests are constrained (see `_controls`): the clock moves forward by at most 30 s a call and is
frozen only for an instant (`after_call` unfreezes it), since an advance of years or a freeze far in the
future would expire the tokens of the whole run and turn every later case into a 401; injected fault
rules are limited to a method no case sends, so every rule is checked and stored but none turns later
cases into 503s (a 5xx fails the run) or slows them down. Their validation still gets the generated
values that are invalid. The radio's operations get real lock ids and, for most cases, a fresh connection
opened just before the call, so subscribe and write reach the virtual lock's protocol code.
"""

import base64
import datetime
import json
import os
import re
import urllib.request
import zlib

import hypothesis.internal.lambda_sources as _lambda_sources
import schemathesis

# CPython 3.11 before 3.11.8 can raise "SystemError: AST constructor recursion depth mismatch" when
# Hypothesis parses a large source file only to describe a lambda in a repr (python/cpython#106905). The
# description is cosmetic: fall back to a plain one instead of failing the operation's test.
_describe_lambda = _lambda_sources.lambda_description


def _lambda_description(f):
    try:
        return _describe_lambda(f)
    except SystemError:
        return "lambda"


_lambda_sources.lambda_description = _lambda_description

BASE = os.environ["LK_BASE"]
MANAGER = os.environ["LK_MANAGER_TOKEN"]
PARTNER = os.environ["LK_PARTNER_TOKEN"]
USER = os.environ["LK_USER_TOKEN"]
SESSION = os.environ["LK_SESSION"]
IDS = json.loads(os.environ["LK_IDS"])

PATH_IDS = {
    "door": IDS["doors"],
    "user": [IDS["user"], IDS["guest"]],
    "guest": [IDS["guest"]],
    "key": [IDS["key"]],
    "building": [IDS["building"]],
    # Fault rule ids are small sequential numbers.
    "id": [str(n) for n in range(1, 21)],
}

# The method every fault rule the run creates is limited to: a valid HTTP method no case ever sends.
UNSENT_METHOD = "CONFORMANCE-UNSENT"
# The most a generated clock advance may move the simulator's clock, in seconds.
MAX_ADVANCE_SECONDS = 30
# The simulator's own limit on one advance (ten years).
ADVANCE_LIMIT_SECONDS = 10 * 366 * 86_400
TOKEN_CHARS = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def _pick(value, choices, percent=70):
    """A real id for most generated values (the generated one otherwise), chosen by a CRC of the value."""
    digest = zlib.crc32(repr(value).encode())
    if digest % 100 >= percent:
        return value
    return choices[digest % len(choices)]


def _auth(case):
    path = case.operation.path
    headers = dict(case.headers or {})
    if path.startswith("/manager/v1/") or path.startswith("/sim/"):
        headers["Authorization"] = f"Bearer {MANAGER}"
    elif path.startswith("/access/sdk/v1/me/"):
        headers["Authorization"] = f"Bearer {USER}"
    elif path.startswith("/access/sdk/"):
        headers["Authorization"] = f"Bearer {PARTNER}"
    elif path.startswith("/manager/") and path not in ("/manager/sign-in", "/manager/style.css"):
        cookies = dict(case.cookies or {})
        cookies["lk_manager_session"] = SESSION
        case.cookies = cookies
    case.headers = headers


def _sim(method, path, body=None):
    """One call to the simulator under test with the manager token: the decoded JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(BASE + path, data=data, method=method)
    request.add_header("Authorization", f"Bearer {MANAGER}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read()
    return json.loads(text) if text else None


def _fresh_connection(value, subscribed):
    """A new radio connection to one of the portfolio's locks (its id), for most generated values;
    `subscribed`: with the lock's Hello already notified, as a phone's before its first write.

    Hypothesis repeats its simplest values ("0") often: the CRC is salted so that they get a connection.
    """
    digest = zlib.crc32(("connection" + repr(value)).encode())
    if digest % 100 >= 85:
        return value
    lock = IDS["locks"][digest % len(IDS["locks"])]
    connection = _sim("POST", "/sim/v1/radio/connections", {"lockId": lock})["connectionId"]
    if subscribed:
        _sim("POST", f"/sim/v1/radio/connections/{connection}/subscribe")
    return connection


def _path_parameters(case):
    if isinstance(case.path_parameters, dict):
        for name, value in list(case.path_parameters.items()):
            if name in PATH_IDS:
                case.path_parameters[name] = _pick(value, PATH_IDS[name])
            elif name == "connection":
                write = case.operation.path.endswith("/write")
                case.path_parameters[name] = _fresh_connection(value, subscribed=write)


def _query(case):
    query = case.query
    if isinstance(query, dict):
        if "deviceUuid" in query:
            query["deviceUuid"] = _pick(query["deviceUuid"], [IDS["device"]])
        if "buildingUuid" in query:
            query["buildingUuid"] = _pick(query["buildingUuid"], [IDS["building"]])


def _is_valid_method(value):
    """Whether the simulator would accept `value` as a fault rule's method (it trims and upper-cases it)."""
    return isinstance(value, str) and TOKEN_CHARS.match(value.strip()) is not None


def _controls(body, path):
    """Keeps the generated control requests from changing the world of later cases (module docstring)."""
    if path == "/sim/v1/controls/clock/advance":
        seconds = body.get("seconds")
        if type(seconds) is int and 1 <= seconds <= ADVANCE_LIMIT_SECONDS:
            body["seconds"] = seconds % MAX_ADVANCE_SECONDS + 1
    elif path == "/sim/v1/controls/clock/freeze":
        at = body.get("at")
        if isinstance(at, str):
            try:
                datetime.datetime.fromisoformat(at.replace("Z", "+00:00"))
            except ValueError:
                return  # Not a time: the simulator's 400.
            if zlib.crc32(at.encode()) % 2:
                del body["at"]  # Frozen now (and unfrozen right after the call).
            else:
                body["at"] = "2000-01-01T00:00:00Z"  # In the past: refused, the clock never goes back.
    elif path == "/sim/v1/controls/faults":
        method = body.get("method")
        if method is None or _is_valid_method(method):
            body["method"] = UNSENT_METHOD
        if zlib.crc32(repr(sorted(body.items(), key=str)).encode()) % 100 < 50:
            _valid_rule(body)


def _valid_rule(body):
    """Makes a generated fault rule one the simulator accepts, so half of them reach its store."""
    kind = body.get("kind")
    if kind not in ("OUTAGE", "LATENCY"):
        return
    if isinstance(body.get("path"), str) and body.get("area") is not None:
        del body["area"]
    if body.get("path") is None and body.get("area") not in ("auth", "partner", "user", "manager", "web"):
        body.pop("area", None)
        body["path"] = "/access/sdk/v2/users"
    if isinstance(body.get("path"), str) and not body["path"].startswith("/"):
        body["path"] = "/" + body["path"]
    if kind == "OUTAGE":
        body.pop("latencyMs", None)
    else:
        body.pop("retryAfterSeconds", None)
        latency = body.get("latencyMs")
        if type(latency) is not int or not 1 <= latency <= 25_000:
            body["latencyMs"] = 1
    if body.get("count") == 0:
        del body["count"]


def _body(case):
    body = case.body
    path = case.operation.path
    if path == "/sim/v1/radio/connections/{connection}/write" and isinstance(body, dict):
        packet = body.get("packet")
        digest = zlib.crc32(repr(packet).encode())
        if isinstance(packet, str) and digest % 100 < 60:
            # A well-framed first fragment (docs/protocol.md) carrying the generated bytes, in base64, so
            # most writes reach the lock: a whole message is decoded by the lock (and refused: it is not
            # sealed for it), one that announces a byte more waits for the rest (200, no packets).
            message = packet.encode()[:150] or b"\x00"
            total = len(message) + digest % 2
            framed = bytes([0x80]) + total.to_bytes(2, "big") + message
            body["packet"] = base64.b64encode(framed).decode()
        return
    if not isinstance(body, dict):
        return
    if path.startswith("/sim/v1/controls/"):
        _controls(body, path)
        return
    if path == "/sim/v1/radio/connections":
        if isinstance(body.get("lockId"), str):
            body["lockId"] = _pick(body["lockId"], IDS["locks"])
        return
    if path.startswith("/manager/") and not path.startswith("/manager/v1/"):
        if path == "/manager/sign-out":
            # Signing out would end the session every later form needs.
            body.pop("csrf", None)
        elif path != "/manager/sign-in":
            # The manager web forms: the session's CSRF token, so most submissions reach the manager API.
            body["csrf"] = _pick(body.get("csrf"), [IDS["csrf"]], percent=85)
        return
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    if isinstance(body.get("doorUuids"), list):
        body["doorUuids"] = _pick(body["doorUuids"], [[d] for d in IDS["doors"]] + [IDS["doors"]])
    for field, choices in (
        ("buildingUuid", [IDS["building"]]),
        ("keyUuid", [IDS["key"]]),
        ("partnerUuid", [IDS["partner"]]),
        ("startTime", [now]),
    ):
        if isinstance(body.get(field), str):
            body[field] = _pick(body[field], choices)


@schemathesis.hook
def map_case(context, case):
    """Every phase's cases pass here: the caller's credentials, then real ids where generated ones stood."""
    _auth(case)
    _path_parameters(case)
    _query(case)
    _body(case)
    return case


@schemathesis.hook
def after_call(context, case, response):
    """A freeze lasts one call: the clock runs again (from where it stood) before the next case."""
    if case.operation.path == "/sim/v1/controls/clock/freeze" and response.status_code == 200:
        _sim("POST", "/sim/v1/controls/clock/unfreeze")
