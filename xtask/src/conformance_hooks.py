"""Schemathesis hooks for `cargo xtask conformance` (loaded through SCHEMATHESIS_HOOKS).

The xtask sets up a portfolio on a fresh simulator through its own API and passes the tokens and ids in
LK_* environment variables. These hooks give every generated request the caller its endpoint expects
(manager, partner or user token; the manager web page's session cookie), and often swap generated ids for
real ones (path parameters, door lists, dates), so requests reach the handlers' deep paths (grants,
doorcodes, notifications, credentials) instead of stopping at a 404. Deterministic: the choice depends
on a CRC of the generated value, never on a random draw.
"""

import datetime
import json
import os
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
}


def _pick(value, choices, percent=70):
    """A real id for most generated values (the generated one otherwise), chosen by a CRC of the value."""
    digest = zlib.crc32(repr(value).encode())
    if digest % 100 >= percent:
        return value
    return choices[digest % len(choices)]


def _auth(case):
    path = case.operation.path
    headers = dict(case.headers or {})
    if path.startswith("/manager/v1/"):
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


def _path_parameters(case):
    if isinstance(case.path_parameters, dict):
        for name, value in list(case.path_parameters.items()):
            if name in PATH_IDS:
                case.path_parameters[name] = _pick(value, PATH_IDS[name])


def _query(case):
    query = case.query
    if isinstance(query, dict):
        if "deviceUuid" in query:
            query["deviceUuid"] = _pick(query["deviceUuid"], [IDS["device"]])
        if "buildingUuid" in query:
            query["buildingUuid"] = _pick(query["buildingUuid"], [IDS["building"]])


def _body(case):
    body = case.body
    if not isinstance(body, dict):
        return
    path = case.operation.path
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
