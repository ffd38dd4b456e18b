"""Rate limits per client IP and per target account, on top of the `limits` library.

Every limited action has a *kind*; every kind is limited in two independent
*scopes*: the client IP (`ip`) and the account the request targets
(`account`). A request passes only when both scopes have room; then one hit is
counted in each. Over a limit, `hit` raises `RateLimited` and counts nothing,
so a client that keeps hammering does not push its own window further out.
`idp/web/errors.py` turns `RateLimited` into HTTP 429 with `Retry-After`.

Kinds: `login` (password form), `reset_request` (asking for a reset mail),
`link` (opening/submitting an activation or reset link), `code` (entering a
one-time code, MFA), `signup` (asking for a sign-up verification mail), `inquiry` (the help page's form).

API (views and services; reads `current_app`, never `flask.request`)::

    ratelimit.hit(kind, ip=None, account=None)         # raises RateLimited, else counts one hit
    ratelimit.is_limited(kind, ip=None, account=None)  # would the next hit be refused? counts nothing
    ratelimit.reset(kind, ip=None, account=None)       # forget the counters of these keys

`ip` is the client address (`web.client_info().ip`); IPv6 addresses count per
/64 (one household or office gets a whole /64). `account` is whatever names the
target account, raw: the login ID as typed (normalised with
`emails.normalize_email`), or another stable string. It is hashed here
(HMAC-SHA256 keyed from `SECRET_KEY`) before it reaches the storage or a log
line, so pass it raw. A scope whose value is None or empty is not checked.
The IP scope is only as good as `request.remote_addr`: behind a reverse proxy
it is the proxy's address unless the app trusts X-Forwarded-For
(IDP_TRUSTED_PROXIES, idp.platform.proxies).

Wiring (one call per POST, before the secret is checked)::

    login POST:          ratelimit.hit("login", ip=client.ip, account=form.email.data)
    reset request POST:  ratelimit.hit("reset_request", ip=client.ip, account=form.email.data)
    activation/reset link (GET and POST):
                         ratelimit.hit("link", ip=client.ip, account=token)
    one-time code POST:  ratelimit.hit("code", ip=client.ip, account=f"account:{account.id}")

For `link` the token itself is the account key: a new link retires the old
one, so there is one live token per account and purpose; a guessed token gets
a fresh bucket and only the IP scope applies, which is what stops
enumeration. `RateLimited` is a `ServiceError` (not a `ValidationError`), so
views that catch `ValidationError` let it through to the error handler, which
rolls the database session back; commit first anything that must be kept
(e.g. a `record_login(..., result="failure", reason="rate_limited")`).
`RateLimited` carries `retry_after` (whole seconds, >= 1), `kind` and `scope`.

Settings (environment variables; a limit is the `limits` string notation,
several separated by `;`, all of which must have room; `off` turns that one
scope off; empty means the default):

| Variable | Default | Meaning |
|---|---|---|
| `IDP_RATELIMIT_ENABLED` | `1` | `0`/`false`/`no`/`off` turns every rate limit off. |
| `IDP_RATELIMIT_STORAGE` | `memory://` | Counter storage, a `limits` URI: `redis://host:6379/0`. |
| `IDP_RATELIMIT_LOGIN_IP` | `300/5minute;3000/hour` | Login attempts per client IP. |
| `IDP_RATELIMIT_LOGIN_ACCOUNT` | `10/minute;60/hour` | Login attempts per login ID. |
| `IDP_RATELIMIT_RESET_REQUEST_IP` | `60/5minute;600/hour` | Reset-mail requests per client IP. |
| `IDP_RATELIMIT_RESET_REQUEST_ACCOUNT` | `3/15minute;10/day` | Reset-mail requests per address. |
| `IDP_RATELIMIT_LINK_IP` | `300/5minute;3000/hour` | Activation/reset link uses per client IP. |
| `IDP_RATELIMIT_LINK_ACCOUNT` | `20/5minute;60/hour` | Uses of one activation/reset link. |
| `IDP_RATELIMIT_CODE_IP` | `300/5minute;3000/hour` | One-time code entries per client IP. |
| `IDP_RATELIMIT_CODE_ACCOUNT` | `5/minute;30/hour` | One-time code entries per account. |
| `IDP_RATELIMIT_SIGNUP_IP` | `20/hour;100/day` | Sign-up requests per client IP. |
| `IDP_RATELIMIT_SIGNUP_ACCOUNT` | `3/hour;10/day` | Sign-up requests per owner email. |
| `IDP_RATELIMIT_INQUIRY_IP` | `10/hour;50/day` | Help-page inquiries per client IP. |
| `IDP_RATELIMIT_INQUIRY_ACCOUNT` | `3/hour;10/day` | Help-page inquiries per sender address. |

Per-IP limits are high because a whole company often shares one office IP:
100 staff logging in around 9:00 (with some typos) stay well under 300 per 5
minutes. Per-account limits are what stops guessing, from any number of IPs.
`memory://` counts per process, so each gunicorn worker has its own counters
(the effective limit is multiplied by the number of workers); with several
workers or instances use Redis (`redis://`, `rediss://`, `redis+unix://`),
and give every instance the same `IDP_SECRET_KEY`, which keys the account
hashes. If the storage is unreachable (Redis down), each process counts in its
own memory instead, so the limits still hold, per process as with `memory://`:
logged once per outage (a warning), counted (`idp_ratelimit_storage_outages_total`,
`idp_ratelimit_fallback_checks_total`), and one request tries the storage again
at most every RECHECK_SECONDS; once it answers, it counts again (what was counted
in memory is not carried over). An unreachable storage at startup is only a
warning. The lockout, in the database, holds throughout.

Callers with limits and keys of their own (a SCIM token: IDP_SCIM_RATELIMIT; an admin
API client: IDP_RATELIMIT_API_CLIENT) count through `Limiter.hit_own`, with the same
storage, fallback, refusal and log line.

A malformed value stops the app at startup with a `ConfigError` naming the
variable. The limits use real time (not the injectable clock).

Strategy: moving window. It counts exactly the hits of the last window, so
unlike a fixed window it allows no double burst across a window boundary (the
per-account limits guard guessing, where that burst would double the budget);
a refused hit is not recorded; and the time until the oldest hit leaves the
window is an exact `Retry-After`. The cost is one timestamp per counted hit,
bounded by the limit (at most 3000 per IP key by default), in memory or Redis.
Checking then counting both scopes is not one atomic step: under a race two
requests may each take the last slot of different limits, so a refused
request can occasionally have counted in the other scope. That errs towards
refusing, never towards letting more through than each limit allows.
"""
import hashlib
import hmac
import ipaddress
import logging
import math
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from flask import current_app
from flask_babel import lazy_gettext as _l
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from idp.platform import metrics
from idp.platform.config import RATELIMIT_DEFAULTS, ConfigError, parse_flag
from idp.platform.email_address import normalize_email
from idp.platform.errors import ServiceError

KINDS = ("login", "reset_request", "link", "code", "signup", "inquiry")
SCOPES = ("ip", "account")
EXTENSION = "idp_ratelimit"
IPV6_PREFIX = 64
REDIS_TIMEOUTS = {"socket_connect_timeout": 1, "socket_timeout": 1}
RECHECK_SECONDS = 5  # while the storage is unreachable: how often (at most) a request tries it again
log = logging.getLogger(__name__)


class RateLimited(ServiceError):
    """Too many requests of one kind for an IP or an account; try again after `retry_after` seconds."""

    status_code = 429

    def __init__(self, retry_after, kind, scope, limit=""):
        self.retry_after = max(1, int(retry_after))
        self.kind = kind
        self.scope = scope
        self.login_event = None  # set by `guard`: kwargs for audit.record_login
        super().__init__(_l("リクエストが多すぎます。しばらく待ってから再度お試しください。"),
                         f"rate limited: kind={kind} scope={scope} limit={limit!r} "
                         f"retry_after={self.retry_after}s")


def setting_name(kind, scope):
    return f"IDP_RATELIMIT_{kind.upper()}_{scope.upper()}"


@dataclass(frozen=True)
class _Check:
    scope: str
    item: RateLimitItem
    identifiers: tuple
    shown: str  # the key as the refusal's log line names it (an account's: a prefix of its hash)


class Limiter:
    """The app's rate limiter: parsed limits, one storage, one strategy (created once per app); while
    the storage is unreachable, a strategy over this process's memory (`_fallback`)."""

    def __init__(self, limits_by_kind, storage, secret):
        self.limits = limits_by_kind  # {(kind, scope): (RateLimitItem, ...)}
        self.storage = storage  # None when rate limiting is off
        self.strategy = MovingWindowRateLimiter(storage) if storage is not None else None
        self._hash_key = hmac.new(secret.encode("utf-8"), b"idp.ratelimit.account", hashlib.sha256).digest()
        self._fallback = None  # made at the first outage, kept for the next
        self._retry_at = None  # while the storage is down: when (time.monotonic) a request may try it again
        self._outage = threading.Lock()

    def hit(self, kind, *, ip=None, account=None):
        """Count one request of `kind`, or raise RateLimited (counting nothing) if a limit is reached."""
        checks = self._checks(kind, ip, account)
        if checks:
            self._counting(lambda strategy: self._hit(strategy, kind, checks))

    def hit_own(self, kind, scope, key, items):
        """`hit` for a caller with limits of its own (`items`, from `parse_limits`) under its own `key`
        (a SCIM token's id, an API client's id): nothing when rate limiting is off."""
        if self.strategy is not None:
            checks = [_Check(scope, item, ("idp", kind, scope, str(key)), str(key)) for item in items]
            self._counting(lambda strategy: self._hit(strategy, kind, checks))

    def is_limited(self, kind, *, ip=None, account=None):
        """Would the next `hit` with these keys be refused? Counts nothing."""
        checks = self._checks(kind, ip, account)
        return bool(checks) and self._counting(
            lambda strategy: any(not strategy.test(check.item, *check.identifiers) for check in checks))

    def reset(self, kind, *, ip=None, account=None):
        """Forget the counters of the given keys (e.g. after an admin unlocks an account)."""
        checks = self._checks(kind, ip, account)
        if checks:
            self._counting(lambda strategy: [strategy.clear(check.item, *check.identifiers) for check in checks])

    def _hit(self, strategy, kind, checks):
        refused = [check for check in checks if not strategy.test(check.item, *check.identifiers)]
        if not refused:
            for check in checks:
                if not strategy.hit(check.item, *check.identifiers):  # lost a race for the last slot
                    refused = [check]
                    break
        if refused:
            raise self._refusal(strategy, kind, refused)

    def _counting(self, operation):
        """`operation(strategy)` on the storage, or on this process's memory while the storage is down."""
        strategy, started = self._current(), False
        if strategy is self.strategy:
            try:
                return operation(strategy)
            except StorageError as exc:
                strategy, started = self._storage_down(exc)
        metrics.count_ratelimit_fallback(outage_started=started)
        return operation(strategy)

    def _current(self):
        """The storage's strategy, or the memory's until a try of the storage (one every RECHECK_SECONDS,
        by one request; the others go on in memory meanwhile) finds it answering."""
        with self._outage:
            if self._retry_at is None:
                return self.strategy
            if time.monotonic() < self._retry_at:
                return self._fallback
            self._retry_at = time.monotonic() + RECHECK_SECONDS
        if not self.storage.check():  # PING, within the storage's 1 s timeouts
            return self._fallback
        with self._outage:
            self._retry_at = None
        log.warning("rate-limit storage reachable again: limits are counted there again")
        return self.strategy

    def _storage_down(self, exc):
        """(the memory's strategy, whether this error starts the outage: logged once, not per request)."""
        with self._outage:
            started = self._retry_at is None
            if self._fallback is None:
                self._fallback = MovingWindowRateLimiter(MemoryStorage())
            self._retry_at = time.monotonic() + RECHECK_SECONDS
        if started:
            log.warning("rate-limit storage unreachable (%r): limits are counted in this process's memory until "
                        "it answers again", exc.storage_error)
        return self._fallback, started

    def account_key(self, account):
        """The storage key of an account identifier: HMAC of the normalised value, never the value."""
        normalized = normalize_email(account)
        return hmac.new(self._hash_key, normalized.encode("utf-8"), hashlib.sha256).hexdigest()

    def _checks(self, kind, ip, account):
        if kind not in KINDS:
            raise ValueError(f"unknown rate-limit kind {kind!r} (one of {', '.join(KINDS)})")
        if self.strategy is None:
            return []
        keys = {"ip": client_key(ip) if ip else None,
                "account": self.account_key(account) if account and normalize_email(account) else None}
        return [_Check(scope, item, ("idp", kind, scope, keys[scope]),
                       keys[scope] if scope == "ip" else keys[scope][:12])
                for scope in SCOPES if keys[scope] is not None
                for item in self.limits[(kind, scope)]]

    def _refusal(self, strategy, kind, refused):
        now = time.time()
        waits = []
        for check in refused:
            stats = strategy.get_window_stats(check.item, *check.identifiers)
            wait = min(max(1, math.ceil(stats.reset_time - now)), check.item.get_expiry())
            waits.append((wait, check))
        wait, check = max(waits, key=lambda pair: pair[0])
        log.warning("rate limited: kind=%s scope=%s %s=%s limit=%s retry_after=%ss",
                    kind, check.scope, check.scope, check.shown, check.item, wait)
        metrics.count_ratelimit_refusal(kind, check.scope)
        return RateLimited(wait, kind, check.scope, str(check.item))


def client_key(ip):
    """The IP scope's key: the address; IPv6 per /64; IPv4-mapped IPv6 as plain IPv4."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return ip.strip()[:64]
    if address.version == 6 and address.ipv4_mapped:
        return str(address.ipv4_mapped)
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/{IPV6_PREFIX}", strict=False))
    return str(address)


def parse_limits(name, value):
    """Parse one setting (`limits` notation, `;`-separated, or `off`) into a tuple of RateLimitItem."""
    text = str(value or "").strip()
    if text.lower() == "off":
        return ()
    try:
        items = tuple(parse_many(text))
    except ValueError:
        raise ConfigError(f"{name}: cannot parse {text!r}; use the limits notation, several separated by ';' "
                          "(e.g. '10/minute;60/hour'), or 'off'") from None
    for item in items:
        if item.amount < 1:
            raise ConfigError(f"{name}: {item} allows nothing; the amount must be at least 1 (or use 'off')")
    return items


def open_storage(uri):
    """The `limits` storage for a URI (redacted in every message); it must support the moving window."""
    scheme = urlsplit(uri).scheme
    options = dict(REDIS_TIMEOUTS) if scheme in ("redis", "rediss", "redis+unix") else {}
    try:
        storage = storage_from_string(uri, wrap_exceptions=True, **options)
        MovingWindowRateLimiter(storage)
    except Exception as exc:  # unknown scheme, missing client library, malformed URI, unsupported strategy
        raise ConfigError(f"IDP_RATELIMIT_STORAGE {redact(uri)!r} cannot be used: {type(exc).__name__}: "
                          f"{str(exc).replace(uri, redact(uri))}") from None
    if not storage.check():
        log.warning("rate-limit storage %s is not reachable now; limits are counted per process until it is",
                    redact(uri))
    return storage


def redact(uri):
    """The URI without its password (for messages and logs)."""
    parts = urlsplit(uri)
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at or ":" not in userinfo:
        return uri
    user = userinfo.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def init_app(app):
    """Validate the IDP_RATELIMIT_* settings (ConfigError if unusable) and attach the app's Limiter."""
    config = app.config
    limits_by_kind = {}
    for kind in KINDS:
        for scope in SCOPES:
            name = setting_name(kind, scope)
            limits_by_kind[(kind, scope)] = parse_limits(name, config.get(name) or RATELIMIT_DEFAULTS[name])
    enabled = config.get("IDP_RATELIMIT_ENABLED")
    enabled = parse_flag("IDP_RATELIMIT_ENABLED", "1" if enabled in (None, "") else enabled)
    storage = open_storage(config.get("IDP_RATELIMIT_STORAGE") or "memory://") if enabled else None
    app.extensions[EXTENSION] = Limiter(limits_by_kind, storage, config["SECRET_KEY"])


def limiter():
    """The current app's Limiter."""
    try:
        return current_app.extensions[EXTENSION]
    except KeyError:
        raise RuntimeError("rate limiting is not set up on this app (call idp.platform.ratelimit.init_app)") from None


def hit(kind, *, ip=None, account=None):
    limiter().hit(kind, ip=ip, account=account)


def guard(kind, *, client, account=None, login_id="", now=None, tenant_id=None):
    """`hit` for a request from `client`; a refusal carries the login event the 429 page records
    (reason `rate_limited`), since the error handler rolls the request's transaction back."""
    try:
        hit(kind, ip=client.ip, account=account)
    except RateLimited as exc:
        exc.login_event = {"result": "failure", "reason": "rate_limited", "login_id": (login_id or "")[:254],
                           "target": kind, "now": now, "client": client, "tenant_id": tenant_id}
        raise


def is_limited(kind, *, ip=None, account=None):
    return limiter().is_limited(kind, ip=ip, account=account)


def reset(kind, *, ip=None, account=None):
    limiter().reset(kind, ip=ip, account=account)
