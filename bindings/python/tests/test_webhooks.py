"""`latchkey.verify_webhook` against the reference `standardwebhooks` package: what one signs the other
accepts, and an altered body, another secret or a stale timestamp are refused with the error that says so."""

from __future__ import annotations

import datetime

import pytest
from standardwebhooks.webhooks import Webhook

import latchkey

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = b'{"id":"evt_1","type":"entry.granted"}'


def signed(now: datetime.datetime) -> dict[str, str]:
    signature = Webhook(SECRET).sign("evt_1", now, BODY.decode())
    return {"Webhook-Id": "evt_1", "Webhook-Timestamp": str(int(now.timestamp())), "Webhook-Signature": signature}


def test_a_delivery_signed_by_the_reference_library_verifies():
    now = datetime.datetime.now(datetime.timezone.utc)
    latchkey.verify_webhook(signed(now), BODY, SECRET, now)


def test_altered_bodies_other_secrets_and_stale_deliveries_are_refused():
    now = datetime.datetime.now(datetime.timezone.utc)
    headers = signed(now)
    with pytest.raises(latchkey.WebhookVerificationError.NoMatchingSignature):
        latchkey.verify_webhook(headers, BODY.replace(b"granted", b"denied"), SECRET, now)
    with pytest.raises(latchkey.WebhookVerificationError.NoMatchingSignature):
        latchkey.verify_webhook(headers, BODY, "whsec_" + "A" * 32, now)
    with pytest.raises(latchkey.WebhookVerificationError.OutsideTolerance):
        latchkey.verify_webhook(headers, BODY, SECRET, now + datetime.timedelta(minutes=6))
    with pytest.raises(latchkey.WebhookVerificationError.SecretFormat):
        latchkey.verify_webhook(headers, BODY, "hunter2", now)
    with pytest.raises(latchkey.WebhookVerificationError.MissingHeader):
        latchkey.verify_webhook({"webhook-id": "evt_1"}, BODY, SECRET, now)
