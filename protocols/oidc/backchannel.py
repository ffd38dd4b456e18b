"""Back-Channel Logout 1.0 and revocation on credential changes (idp.platform.signals receivers).

When SSO sessions end, every client those sessions signed into that registered a
`backchannel_logout_uri` gets a signed logout token (2.4: iss, aud, iat, exp, jti, sub, sid,
events; typ logout+jwt). The tokens are built inside the transaction but only sent after it
commits, by a background thread with retries; failures are logged and never block the user.
Grants bound to those sessions without offline_access are revoked (2.7).

SSRF: a logout URI that resolves to a loopback/private/link-local address is refused unless
IDP_OIDC_BACKCHANNEL_ALLOW_PRIVATE allows it (default `auto`: only when the IdP itself runs on
loopback, i.e. local development and tests). Delivery goes through idp.platform.outbound: the host
is resolved once per attempt, every address checked, and the connection made to the checked address
(no DNS-rebinding gap); redirects are never followed.
"""
import logging
import queue
import threading
import time
from datetime import timedelta
from urllib.parse import urlencode

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from idp.oidc import clients as oidc_clients
from idp.oidc import tokens as oidc_tokens
from idp.oidc.jwt import epoch, sign
from idp.platform import outbound, signals
from idp.platform.random_tokens import new_token
from idp.platform.urls import issuer_for

log = logging.getLogger(__name__)
EXTENSION = "oidc_backchannel"
PENDING_KEY = "oidc_backchannel_pending"
LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_LIFETIME = timedelta(minutes=2)


class Sender:
    """A daemon thread delivering logout tokens; `delays` are the waits between attempts."""

    def __init__(self, allow_private, delays=(1, 5, 30), timeout=5):
        self.allow_private, self.delays, self.timeout = allow_private, delays, timeout
        self._queue = queue.Queue()
        self._thread = None
        self._lock = threading.Lock()

    def submit(self, uri, logout_token):
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="oidc-backchannel", daemon=True)
                self._thread.start()
        self._queue.put((uri, logout_token))

    def flush(self, timeout=30):
        """Wait until everything queued so far was delivered or given up (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._queue.unfinished_tasks

    def _run(self):
        while True:
            uri, logout_token = self._queue.get()
            try:
                self.deliver(uri, logout_token)
            except Exception:  # never let one bad job stop the worker
                log.exception("back-channel logout to %s failed", uri)
            finally:
                self._queue.task_done()

    def deliver(self, uri, logout_token):
        for attempt, delay in enumerate((0,) + tuple(self.delays)):
            time.sleep(delay)
            outcome = self._post(uri, logout_token)
            if outcome is None:
                log.warning("back-channel logout to %s refused: private or unresolvable address (SSRF)", uri)
                return False
            if outcome:
                return True
            log.info("back-channel logout to %s: attempt %d failed", uri, attempt + 1)
        log.warning("back-channel logout to %s failed after %d attempts", uri, len(self.delays) + 1)
        return False

    def _post(self, uri, logout_token):
        """True on 200/204, False on any other answer or a network error, None when the target is
        refused. Redirects are answers like any other (never followed)."""
        try:
            reply = outbound.request(
                "POST", uri, allow_private=self.allow_private, timeout=self.timeout,
                body=urlencode({"logout_token": logout_token}),
                headers={"Content-Type": "application/x-www-form-urlencoded", "Cache-Control": "no-cache"})
        except outbound.Refused:
            return None
        except outbound.OutboundError:
            return False
        return reply.status in (200, 204)


def logout_token(tenant, client, subject, sid, now):
    claims = {"iss": issuer_for(tenant.slug), "aud": client.client_id, "iat": epoch(now),
              "exp": epoch(now + LOGOUT_TOKEN_LIFETIME), "jti": new_token(16), "sub": subject,
              "events": {LOGOUT_EVENT: {}}}
    if sid:
        claims["sid"] = sid
    return sign(tenant, client.id_token_alg, claims, now, typ="logout+jwt")


def _on_sessions_ended(sso_sessions, reason, now, **_):
    by_id = {s.id: s for s in sso_sessions}
    grants = oidc_tokens.end_sessions(list(by_id), now, reason)
    clients = {c.id: c for c in oidc_clients.clients_with_backchannel({g.client_pk for g in grants})}
    pending = []
    for client_pk, session_id in sorted({(g.client_pk, g.sso_session_id) for g in grants}):
        client, session = clients.get(client_pk), by_id.get(session_id)
        if client is None or session is None:
            continue
        token = logout_token(session.account.tenant, client, session.account.subject, session.sid, now)
        pending.append((client.backchannel_logout_uri, token))
    if pending:
        from idp.platform.extensions import db
        db.session().info.setdefault(PENDING_KEY, []).extend(
            (current_app.extensions[EXTENSION], uri, token) for uri, token in pending)


def _on_credentials_changed(account, reason, now, **_):
    """Issue 5: a password reset/change or a disabled account revokes the account's tokens."""
    oidc_tokens.revoke_for_account(account.id, now, f"credentials:{reason}"[:32])


@event.listens_for(Session, "after_commit")
def _send_pending(session):
    for sender, uri, token in session.info.pop(PENDING_KEY, []):
        sender.submit(uri, token)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session):
    session.info.pop(PENDING_KEY, None)


def allow_private_targets(config):
    return outbound.private_targets_allowed(config, "IDP_OIDC_BACKCHANNEL_ALLOW_PRIVATE")


def init_app(app):
    app.extensions[EXTENSION] = Sender(allow_private_targets(app.config))
    signals.sessions_ended.connect(_on_sessions_ended, weak=False)
    signals.credentials_changed.connect(_on_credentials_changed, weak=False)
