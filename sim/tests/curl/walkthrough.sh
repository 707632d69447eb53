#!/usr/bin/env bash
# The simulator driven by plain curl, as a partner's engineer would: the manager API sets up a portfolio,
# then the partner API is used exactly as the spec documents it. Every step checks the status code and the
# fields it relies on; the script exits non-zero at the first surprise.
#
#   LATCHKEY_BIN=target/debug/latchkey bash sim/tests/curl/walkthrough.sh
set -euo pipefail

BIN=${LATCHKEY_BIN:-target/debug/latchkey}
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
DB=$(mktemp -d)/walkthrough.db
LOG=$(mktemp)
# Everything the simulator logs, at the most verbose level, is kept: the last check scans it for secrets.
RUST_LOG=trace "$BIN" sim serve --addr "127.0.0.1:$PORT" --db "$DB" --manager-token walkthrough-token >"$LOG" 2>&1 &
SIM=$!
trap 'kill $SIM 2>/dev/null || true' EXIT

for _ in $(seq 1 100); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "$BASE/healthz" >/dev/null || { echo "simulator did not become ready:"; cat "$LOG"; exit 1; }

BODY=$(mktemp)
STATUS=0
# call METHOD PATH AUTH [JSON]: sets STATUS, body in $BODY
call() {
  local method=$1 path=$2 auth=$3 data=${4:-}
  local args=(-s -o "$BODY" -w '%{http_code}' -X "$method" "$BASE$path")
  [ -n "$auth" ] && args+=(-H "Authorization: Bearer $auth")
  [ -n "$data" ] && args+=(-H 'Content-Type: application/json' -d "$data")
  STATUS=$(curl "${args[@]}")
}
expect() {  # expect STATUS description
  if [ "$STATUS" != "$1" ]; then echo "FAIL: $2: expected $1, got $STATUS: $(cat "$BODY")"; exit 1; fi
  echo "ok   $2 ($STATUS)"
}
json() { python3 -c "import json,sys; d=json.load(open('$BODY')); print($1)"; }
check() {  # check PYTHON_EXPR description
  [ "$(json "$1")" = "True" ] || { echo "FAIL: $2: $(cat "$BODY")"; exit 1; }
  echo "ok   $2"
}

M=walkthrough-token
call POST /manager/v1/partners "$M" '{"name":"Acme Stays"}'; expect 200 "create partner"
PARTNER=$(json 'd["uuid"]'); CLIENT_ID=$(json 'd["clientId"]'); CLIENT_SECRET=$(json 'd["clientSecret"]')
call POST /manager/v1/partners "$M" '{"name":"Other Co"}'; expect 200 "create a second partner"
OTHER=$(json 'd["uuid"]')
call POST /manager/v1/partners wrong-token '{"name":"x"}'; expect 401 "manager API refuses a wrong token"

call POST /manager/v1/buildings "$M" '{"name":"Harbor View","timezone":"America/New_York","commonDoorcodes":false}'
expect 200 "create building"; BUILDING=$(json 'd["uuid"]')
call POST /manager/v1/buildings "$M" '{"name":"Bad","timezone":"Mars/Olympus"}'; expect 400 "unknown time zone"

door() {  # door NAME ACCESSIBILITY
  call POST /manager/v1/doors "$M" "{\"buildingUuid\":\"$BUILDING\",\"name\":\"$1\",\"type\":\"DOOR\",\"accessibilityType\":\"$2\",\"isConnected\":false}"
  expect 200 "create door $1"; json 'd["uuid"]' >/dev/null
}
door Lobby COMMUNAL; LOBBY=$(json 'd["uuid"]')
check 'd["device"] is None' "a new door has device null"
door Gym COMMUNAL; GYM=$(json 'd["uuid"]')
door "Unit 4B" PRIVATE; UNIT=$(json 'd["uuid"]')
door "Staff room" PRIVATE; STAFF=$(json 'd["uuid"]')
call POST "/manager/v1/doors/$LOBBY/activate" "$M" '{"serialNumber":"LK-0001","deviceType":"M"}'
expect 200 "installer activates the lobby lock"; check 'd["device"]["serialNumber"] == "LK-0001"' "door carries its device"
call POST "/manager/v1/doors/$LOBBY/activate" "$M" '{"serialNumber":"LK-0002","deviceType":"M"}'; expect 409 "a door holds one lock"

call POST /manager/v1/keys "$M" "{\"name\":\"Guest key\",\"doorUuids\":[\"$LOBBY\",\"$GYM\",\"$UNIT\"]}"; expect 200 "create key"
KEY=$(json 'd["uuid"]')
call POST /manager/v1/keys "$M" "{\"name\":\"Staff key\",\"doorUuids\":[\"$STAFF\"]}"; expect 200 "create staff key"
STAFF_KEY=$(json 'd["uuid"]')
call PUT "/manager/v1/keys/$KEY/partner" "$M" "{\"partnerUuid\":\"$PARTNER\"}"; expect 200 "assign key to partner"
call PUT "/manager/v1/keys/$KEY/partner" "$M" "{\"partnerUuid\":\"$OTHER\"}"; expect 409 "a key belongs to one partner"
call PUT "/manager/v1/keys/$STAFF_KEY/partner" "$M" "{\"partnerUuid\":\"$OTHER\"}"; expect 200 "staff key to the other partner"
call POST "/manager/v1/keys/$STAFF_KEY/enable" "$M"; expect 200 "enable staff key"

call POST /v1/oauth/token "" "{\"grant_type\":\"client_credentials\",\"client_id\":\"$CLIENT_ID\",\"client_secret\":\"$CLIENT_SECRET\",\"audience\":\"https://rest.latchaccess.com/access/sdk\"}"
expect 200 "partner token (client credentials)"
check 'd["token_type"] == "Bearer" and d["expires_in"] == 86400' "Bearer token valid 24 h"
TOKEN=$(json 'd["access_token"]')
call POST /v1/oauth/token "" "{\"grant_type\":\"client_credentials\",\"client_id\":\"$CLIENT_ID\",\"client_secret\":\"nope\",\"audience\":\"https://rest.latchaccess.com/access/sdk\"}"
expect 401 "wrong client secret"

call GET /access/sdk/v1/doors "$TOKEN"; expect 200 "list doors before the key is enabled"
check 'd["doors"] == [] and d["nextPageToken"] is None' "no doors until the key is enabled"
call POST "/manager/v1/keys/$KEY/enable" "$M"; expect 200 "enable key"
call GET /access/sdk/v1/doors "$TOKEN"; expect 200 "list doors"
check 'len(d["doors"]) == 3 and d["nextPageToken"] is None' "three doors, one page"
call GET "/access/sdk/v1/doors?pageSize=2" "$TOKEN"; expect 200 "first page"
check 'len(d["doors"]) == 2 and d["nextPageToken"] == "2"' "page of two with a next token"
call GET "/access/sdk/v1/doors?pageSize=2&pageToken=2" "$TOKEN"; expect 200 "second page"
check 'len(d["doors"]) == 1 and d["nextPageToken"] is None' "last page"
call GET "/access/sdk/v1/doors?buildingUuid=$BUILDING" "$TOKEN"; expect 200 "doors of one building"
call GET "/access/sdk/v1/doors?pageSize=0" "$TOKEN"; expect 400 "pageSize 0"
call GET /access/sdk/v1/buildings "$TOKEN"; expect 200 "buildings"
check 'd["buildings"][0]["timezone"] == "America/New_York"' "building with its zone"
call GET /access/sdk/v1/doors ""; expect 401 "no token"
call GET /access/sdk/v1/doors "not.a.token"; expect 401 "invalid token"

NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
INVITE="{\"firstName\":\"Grace\",\"lastName\":\"Hopper\",\"email\":\"grace@example.com\",\"startTime\":\"$NOW\",\"doorUuids\":[\"$LOBBY\",\"$GYM\",\"$UNIT\"],\"shareable\":true,\"passcodeType\":\"PERMANENT\",\"role\":\"NON_RESIDENT\"}"
call POST /access/sdk/v1/users "$TOKEN" "$INVITE"; expect 200 "v1 invite (PERMANENT)"
check 'set(d) == {"userUuid","doors"} and len(d["doors"]) == 3 and set(d["doors"][0]) == {"uuid","name","type","buildingUuid"}' "v1 response fields"
GRACE=$(json 'd["userUuid"]')
call POST /access/sdk/v2/users "$TOKEN" "$INVITE"; expect 200 "v2 invite of the same user (upsert)"
check "d['userUuid'] == '$GRACE'" "same user found by email"
check 'all(a["doorcode"]["description"] == "VALID" for a in d["accesses"])' "PERMANENT NON_RESIDENT codes are VALID"
check 'len({a["doorcode"]["code"] for a in d["accesses"] if a["doorUuid"] != "'$UNIT'"}) == 1' "one common code for communal doors"
check 'all(len(a["doorcode"]["code"]) == 7 for a in d["accesses"])' "7-digit codes"

call POST /access/sdk/v2/users "$TOKEN" "{\"firstName\":\"Res\",\"lastName\":\"Ident\",\"email\":\"res@example.com\",\"startTime\":\"$NOW\",\"doorUuids\":[\"$UNIT\"],\"passcodeType\":\"PERMANENT\",\"role\":\"RESIDENT\"}"
expect 200 "v2 resident invite"
check 'd["accesses"][0]["doorcode"] == {"code": None, "description": "USER_HAS_RESIDENT_ACCESS"}' "no doorcode for residents"

call POST /access/sdk/v2/users "$TOKEN" "{\"firstName\":\"Day\",\"lastName\":\"Guest\",\"phone\":\"+14155550100\",\"startTime\":\"$NOW\",\"doorUuids\":[\"$LOBBY\"],\"passcodeType\":\"DAILY_SINGLE_USE\",\"role\":\"NON_RESIDENT\"}"
expect 200 "v2 DAILY_SINGLE_USE invite by phone"
check 'd["email"] is None and d["accesses"][0]["doorcode"]["description"] == "VALID"' "phone-only user with a code"

call POST /access/sdk/v1/users "$TOKEN" "{\"firstName\":\"No\",\"lastName\":\"Email\",\"phone\":\"+14155550101\",\"startTime\":\"$NOW\",\"doorUuids\":[\"$LOBBY\"],\"passcodeType\":\"PERMANENT\",\"role\":\"NON_RESIDENT\"}"
expect 400 "PERMANENT without email"
call POST /access/sdk/v1/users "$TOKEN" "{\"firstName\":\"A\",\"lastName\":\"B\",\"email\":\"a@example.com\",\"phone\":\"+14155550101\",\"startTime\":\"$NOW\",\"doorUuids\":[\"$LOBBY\"],\"passcodeType\":\"DAILY\",\"role\":\"NON_RESIDENT\"}"
expect 400 "DAILY with both email and phone"
call POST /access/sdk/v1/users "$TOKEN" "{\"firstName\":\"A\",\"lastName\":\"B\",\"email\":\"a@example.com\",\"startTime\":\"$NOW\",\"doorUuids\":[\"$LOBBY\"],\"shareable\":true,\"passcodeType\":\"DAILY\",\"role\":\"NON_RESIDENT\"}"
expect 400 "shareable DAILY"
call POST /access/sdk/v1/users "$TOKEN" "{\"firstName\":\"A\",\"lastName\":\"B\",\"email\":\"a@example.com\",\"startTime\":\"2020-01-01T00:00:00Z\",\"doorUuids\":[\"$LOBBY\"],\"passcodeType\":\"DAILY\",\"role\":\"NON_RESIDENT\"}"
expect 400 "DAILY starting in the past"
call POST /access/sdk/v1/users "$TOKEN" "{\"firstName\":\"A\",\"lastName\":\"B\",\"email\":\"a@example.com\",\"startTime\":\"$NOW\",\"doorUuids\":[],\"passcodeType\":\"PERMANENT\",\"role\":\"NON_RESIDENT\"}"
expect 400 "no doors"
call POST /access/sdk/v1/users "$TOKEN" "{\"firstName\":\"A\",\"lastName\":\"B\",\"email\":\"a@example.com\",\"startTime\":\"$NOW\",\"doorUuids\":[\"$STAFF\"],\"passcodeType\":\"PERMANENT\",\"role\":\"NON_RESIDENT\"}"
expect 400 "another partner's door is an invalid door UUID"
check '"invalid door UUIDs" in d["message"]' "error says which doors are invalid"
call POST /access/sdk/v1/users "$TOKEN" "{\"firstName\":\"A\",\"lastName\":\"B\",\"email\":\"a@example.com\",\"startTime\":\"$NOW\",\"doorUuids\":[\"$LOBBY\"],\"passcodeType\":\"DAILY\",\"role\":\"RESIDENT\",\"shouldNotify\":false}"
expect 400 "shouldNotify false for a resident DAILY"

call GET /access/sdk/v1/users "$TOKEN"; expect 200 "list users"
check 'len(d["users"]) == 3 and d["nextPageToken"] is None' "three users"
call GET "/access/sdk/v1/users/$GRACE" "$TOKEN"; expect 200 "get user"
check 'd["email"] == "grace@example.com" and len(d["accesses"]) == 3' "user with accesses"

FUTURE=$(date -u -d '+30 days' +%Y-%m-%dT%H:%M:%SZ)
call PATCH "/access/sdk/v1/users/$GRACE/doors/$UNIT" "$TOKEN" "{\"shareable\":false,\"endTime\":\"$FUTURE\"}"
expect 200 "patch access with an end"
check "[a for a in d['accesses'] if a['doorUuid'] == '$UNIT'][0]['endTime'] is not None" "end set"
call PATCH "/access/sdk/v1/users/$GRACE/doors/$UNIT" "$TOKEN" '{"shareable":false}'
expect 200 "patch without endTime"
check "[a for a in d['accesses'] if a['doorUuid'] == '$UNIT'][0]['endTime'] is None" "omitted endTime removes the expiry"
call PATCH "/access/sdk/v1/users/$GRACE/doors/$UNIT" "$TOKEN" '{"endTime":"2020-01-01T00:00:00Z"}'
expect 400 "endTime in the past"
call PATCH "/access/sdk/v1/users/$GRACE/doors/$STAFF" "$TOKEN" '{}'; expect 404 "patch on a door without access"

call DELETE "/access/sdk/v1/users/$GRACE/doors/$UNIT" "$TOKEN"; expect 200 "revoke"
[ ! -s "$BODY" ] || { echo "FAIL: DELETE body must be empty"; exit 1; }; echo "ok   empty body"
call DELETE "/access/sdk/v1/users/$GRACE/doors/$UNIT" "$TOKEN"; expect 404 "revoke twice"
call DELETE "/access/sdk/v1/users/00000000-0000-0000-0000-000000000000/doors/$LOBBY" "$TOKEN"; expect 404 "unknown user"

call GET /manager/v1/outbox "$M"; expect 200 "outbox"
check 'any(m["recipient"] == "grace@example.com" and m["kind"] == "WELCOME" for m in d["messages"])' "welcome email sent"
check 'any(m["channel"] == "SMS" and m["recipient"] == "+14155550100" for m in d["messages"])' "doorcode texted"

# Grace signs in without a password, as the partner's app does for her: a one-time code by email, a user token.
call POST /passwordless/start "" "{\"client_id\":\"$CLIENT_ID\",\"client_secret\":\"$CLIENT_SECRET\",\"email\":\"grace@example.com\",\"connection\":\"email\",\"send\":\"code\"}"
expect 200 "passwordless start"
call GET /manager/v1/outbox "$M"; expect 200 "outbox with the one-time code"
OTP=$(json '[m for m in d["messages"] if m["kind"] == "OTP"][-1]["content"]' | grep -oE '[0-9]{6}' | head -1)
call POST /v1/oauth/token "" "{\"grant_type\":\"http://auth0.com/oauth/grant-type/passwordless/otp\",\"client_id\":\"$CLIENT_ID\",\"client_secret\":\"$CLIENT_SECRET\",\"username\":\"grace@example.com\",\"otp\":\"$OTP\",\"realm\":\"email\"}"
expect 200 "one-time code for a user token"
USER_TOKEN=$(json 'd["access_token"]'); REFRESH=$(json 'd["refresh_token"]'); ID_TOKEN=$(json 'd["id_token"]')
call GET /access/sdk/v1/me/locks "$USER_TOKEN"; expect 200 "Grace's locks with her token"
call GET /access/sdk/v1/doors "$USER_TOKEN"; expect 403 "a user token on a partner endpoint"
call POST /v1/oauth/token "" "{\"grant_type\":\"refresh_token\",\"client_id\":\"$CLIENT_ID\",\"refresh_token\":\"$REFRESH\"}"
expect 200 "refresh"; RENEWED=$(json 'd["access_token"]')

# Secrets never reach the logs: every credential and doorcode issued above is absent from the server's log.
call POST /access/sdk/v2/users "$TOKEN" "$INVITE"; expect 200 "read Grace's doorcodes"
CODES=$(json '" ".join(a["doorcode"]["code"] for a in d["accesses"] if a["doorcode"]["code"])')
[ -s "$LOG" ] || { echo "FAIL: the simulator logged nothing at trace level"; exit 1; }
for SECRET in "$M" "$CLIENT_SECRET" "$TOKEN" "$OTP" "$USER_TOKEN" "$REFRESH" "$ID_TOKEN" "$RENEWED" $CODES; do
  if grep -qF -- "$SECRET" "$LOG"; then echo "FAIL: a secret (${#SECRET} characters) appears in the simulator's log"; exit 1; fi
done
echo "ok   no token, client secret, one-time code or doorcode in $(wc -l <"$LOG") lines of trace log"

echo "walkthrough passed"
