"""Outgoing SMS: one `send(to, body)` over a configurable transport.

Transports:
- `outbox` (default, no IDP_SMS_URL): one text file per message in
  `{instance}/sms/` (`To: +81…`, a blank line, the body), for development and tests.
- HTTP provider (IDP_SMS_URL set): a Twilio-compatible REST call, i.e. a form
  POST of `To`, `From` (IDP_SMS_FROM) and `Body` to IDP_SMS_URL with HTTP Basic
  credentials IDP_SMS_USER / IDP_SMS_PASSWORD (Twilio: the account SID and auth
  token, URL `https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages.json`).
  Any 2xx answer is a success. Redirects are not followed.

Codes the user asked for are sent at once (the page says whether it worked).
Every failure (network, timeout, non-2xx) raises `SmsDeliveryError` after
logging the detail; message bodies (which carry codes) are never logged.
Each message is also a row of the outbox (idp.platform.outbox): sent, or failed. A failed one
is retried by the outbox's sweep only while the caller says its code is still valid
(`valid_until`); without it the row is failed at once (a caller that drops the code on
failure, as idp.authn.mfa.sms does, must not get it delivered later).
"""
import itertools
import logging
import os
import secrets
import time

from flask import current_app

from idp.platform import outbox
from idp.platform.clock import current_time

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 10


class SmsDeliveryError(RuntimeError):
    """The message could not be handed to the provider."""


class OutboxSmsTransport:
    _sequence = itertools.count()

    def __init__(self, directory):
        self.directory = directory

    def send(self, to, body):
        os.makedirs(self.directory, mode=0o700, exist_ok=True)  # codes: readable by the service only, as mails
        name = f"{time.time_ns():020d}-{next(self._sequence):06d}-{secrets.token_hex(3)}.txt"
        path = os.path.join(self.directory, name)
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as fh:
            fh.write(f"To: {to}\n\n{body}\n")
        log.info("SMS to %s written to %s", mask(to), path)


class HttpSmsTransport:
    def __init__(self, url, user, password, sender):
        self.url, self.user, self.password, self.sender = url, user, password, sender

    def send(self, to, body):
        import requests  # here: a process that sends no SMS through a provider does without it
        data = {"To": to, "Body": body}
        if self.sender:
            data["From"] = self.sender
        auth = (self.user, self.password) if self.user else None
        try:
            response = requests.post(self.url, data=data, auth=auth, timeout=TIMEOUT_SECONDS,
                                     allow_redirects=False)
        except requests.RequestException as exc:
            log.error("SMS provider unreachable (to %s): %s", mask(to), type(exc).__name__)
            raise SmsDeliveryError("SMS provider unreachable") from None
        if not 200 <= response.status_code < 300:
            log.error("SMS provider refused the message to %s: HTTP %s %s", mask(to), response.status_code,
                      response.text[:200])
            raise SmsDeliveryError(f"SMS provider answered HTTP {response.status_code}")
        log.info("SMS to %s accepted by the provider", mask(to))


def transport():
    config = current_app.config
    if config.get("IDP_SMS_URL"):
        return HttpSmsTransport(config["IDP_SMS_URL"], config.get("IDP_SMS_USER") or "",
                                config.get("IDP_SMS_PASSWORD") or "", config.get("IDP_SMS_FROM") or "")
    return OutboxSmsTransport(os.path.join(config["IDP_INSTANCE_DIR"], "sms"))


def send(to, body, *, valid_until=None, tenant_id=None):
    """Send at once (SmsDeliveryError on failure) and record the attempt in the outbox."""
    now = current_time()
    try:
        transport().send(to, body)
    except SmsDeliveryError as exc:
        outbox.record_attempt(outbox.SMS, to, body.encode("utf-8"), tenant_id=tenant_id, now=now, error=exc,
                              retry_until=valid_until)
        raise
    outbox.record_attempt(outbox.SMS, to, body.encode("utf-8"), tenant_id=tenant_id, now=now)


def _send_stored(to, payload):
    transport().send(to, payload.decode("utf-8"))


def channel():
    """How the outbox's sweep retries a stored SMS."""
    return outbox.Channel(_send_stored, log)


def mask(number):
    """Every digit but the last 4 hidden: +*********5678."""
    plus, digits = ("+", number[1:]) if number.startswith("+") else ("", number)
    return plus + "*" * max(0, len(digits) - 4) + digits[-4:]
