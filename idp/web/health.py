"""Health endpoints for load balancers and orchestrators (no session, no cookie, no CSRF, no rate limit).

- `GET /healthz`: the process is up and answers; no I/O. 200 `{"status": "ok"}`.
- `GET /readyz`: the instance can serve: the database answers `SELECT 1`, and Redis answers a PING when
  it holds the rate limits (IDP_RATELIMIT_STORAGE, rate limits on). 200 `{"status": "ok", "checks":
  {...}}`, or 503 `{"status": "unavailable", "checks": {"database": "unavailable", ...}}`. Redis is
  pinged on a client of this module's own (REDIS_TIMEOUT), not through the rate limiter: a limiter that
  falls back to counting per process while Redis is down must not make the instance look ready.

Each check runs on its own thread and the answer waits at most READY_TIMEOUT seconds, whatever the
driver's own timeouts (a black-holed database host would otherwise hold the probe for minutes); a
check still stuck from an earlier probe is answered `timeout` at once instead of piling up threads.
The body names only the checks and their state; the reason (never the URL or a password) goes to
the log. Both answers are `Cache-Control: no-store`.
"""
import logging
import threading
import time
from urllib.parse import urlsplit

import redis
from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from idp.platform import ratelimit
from idp.platform.config import ConfigError, parse_flag
from idp.platform.extensions import csrf, db
from idp.web.sso import mark_stateless

bp = Blueprint("health", __name__)
READY_TIMEOUT = 1.5  # seconds: the whole /readyz answer, every check together
REDIS_SCHEMES = ("redis", "rediss", "redis+unix", "redis+sentinel", "redis+cluster")
REDIS_TIMEOUT = 1.0  # seconds: connecting to Redis, and its answer to PING
PROBES = "idp_health_probes"
REDIS_CLIENT = "idp_health_redis"
log = logging.getLogger(__name__)


def init_app(app):
    app.register_blueprint(bp)
    csrf.exempt(bp)
    mark_stateless(app, "health.healthz", "health.readyz")
    app.extensions[PROBES] = {}
    app.extensions[REDIS_CLIENT] = None


@bp.get("/healthz")
def healthz():
    return _no_store(jsonify(status="ok"), 200)


@bp.get("/readyz")
def readyz():
    checks = run_checks(readiness_checks(), current_app.extensions[PROBES], READY_TIMEOUT)
    ready = all(state == "ok" for state in checks.values())
    return _no_store(jsonify(status="ok" if ready else "unavailable", checks=checks), 200 if ready else 503)


def readiness_checks():
    """{name: a callable that returns True when that dependency answers}, read in the request's app."""
    engine = db.engine
    checks = {"database": lambda: _select_one(engine)}
    uri = current_app.config.get("IDP_RATELIMIT_STORAGE") or ""
    if _rate_limits_on(current_app.config) and urlsplit(uri).scheme in REDIS_SCHEMES:
        checks["redis"] = _redis_ping(current_app._get_current_object(), uri)
    return checks


def _rate_limits_on(config):
    try:
        return parse_flag("IDP_RATELIMIT_ENABLED", config.get("IDP_RATELIMIT_ENABLED") or "1")
    except ConfigError:
        return True


def _redis_ping(app, uri):
    """A PING on this app's own client of the rate limits' Redis (made once; `redis+unix://` is redis-py's
    `unix://`). Sentinel and cluster URIs are asked through the rate limiter's storage (its own timeouts)."""
    scheme = urlsplit(uri).scheme
    if scheme in ("redis+sentinel", "redis+cluster"):
        storage = ratelimit.limiter().storage
        return storage.check
    client = app.extensions.get(REDIS_CLIENT)
    if client is None:
        url = "unix" + uri[len("redis+unix"):] if scheme == "redis+unix" else uri
        client = app.extensions[REDIS_CLIENT] = redis.Redis.from_url(
            url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT, retry_on_timeout=False)
    return client.ping


def _select_one(engine):
    with engine.connect() as connection:
        return connection.execute(text("SELECT 1")).scalar() == 1


def run_checks(checks, probes, timeout):
    """{name: "ok" | "unavailable" | "timeout"}: every check at once, on its own thread, within `timeout`.

    `probes` ({name: the thread of the last run}) is kept by the caller across calls: while a run is
    still going, no new one starts and the check answers from that run (or `timeout`)."""
    deadline = time.monotonic() + timeout
    runs = {}
    for name, check in checks.items():
        run = probes.get(name)
        if run is None or not run.thread.is_alive():
            run = probes[name] = _Run(name, check)
        runs[name] = run
    return {name: run.state(max(0.0, deadline - time.monotonic())) for name, run in runs.items()}


class _Run:
    """One run of a check on a daemon thread; `state(wait)` waits for it at most `wait` seconds."""

    def __init__(self, name, check):
        self.name, self.check, self.ok = name, check, None
        self.thread = threading.Thread(target=self._run, name=f"readyz-{name}", daemon=True)
        self.thread.start()

    def _run(self):
        try:
            self.ok = bool(self.check())
            if not self.ok:
                log.warning("readiness check %s: not reachable", self.name)
        except Exception as exc:  # any driver error means "not ready"; the reason goes to the log only
            self.ok = False
            log.warning("readiness check %s failed: %s: %s", self.name, type(exc).__name__,
                        str(exc).splitlines()[0][:300] if str(exc) else "")

    def state(self, wait):
        self.thread.join(wait)
        if self.thread.is_alive():
            log.warning("readiness check %s: no answer in time", self.name)
            return "timeout"
        return "ok" if self.ok else "unavailable"


def _no_store(response, status):
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response
