"""Prometheus metrics: their definitions, the one-line helpers the code calls, and the scrape's text.

    metrics.observe_request(group, status, seconds)   # idp.web.request_log, once per request
    metrics.count_login(result, factor)               # idp.logs.audit.record_login (every LoginEvent)
    metrics.count_token_grant(grant_type, result)     # the OIDC token endpoint
    metrics.count_saml_response(status)               # each SAML Response issued
    metrics.count_lockout(kind)                       # an account (or unknown login ID) becomes locked
    metrics.count_ratelimit_refusal(kind, scope)      # a 429 of idp.platform.ratelimit
    metrics.count_ratelimit_fallback(outage_started)  # rate limits counted in memory: Redis unreachable

Every label takes a value from a small fixed set (anything else is `other`): never a path, a tenant or an
address, so the number of series stays bounded. A helper never raises: a metric must not fail a login.

Several worker processes: prometheus_client reads PROMETHEUS_MULTIPROC_DIR once, when it is first
imported, and then keeps each value in a file of that folder per process, which a scrape adds up
(`exposition`). `idp serve` sets it (a private folder of the instance, emptied at start) before its
workers fork; its own process has built an app by then, so this module imports prometheus_client at
first use, never at import time. Without the variable (`idp run`, gunicorn by hand, tests) a process
counts alone. The mail/SMS queue is read from `idp.platform.outbox` at scrape time, when that module
exists (`OutboxCollector`); its delivery failures are counted through its `on_failure` callbacks.
"""
import logging
import os
import shutil
import threading

from idp.platform.config import private_folder

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
OTHER = "other"
GROUPS = ("oidc", "saml", "scim", "api", "login", "admin", "portal", "contract", "signup", "health", "static", OTHER)
LOGIN_RESULTS = ("success", "failure")
FACTORS = ("password", "totp", "sms", "recovery", "oidc", "saml")  # LoginEvent.protocol: how, or which app SSO
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
GRANT_RESULTS = ("issued", "invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
                 "unsupported_grant_type", "invalid_scope")
SAML_STATUSES = ("Success", "RequestDenied", "NoPassive", "InvalidNameIDPolicy", "NoAuthnContext")
LOCKOUT_KINDS = ("account", "unknown_login_id")
RATELIMIT_KINDS = ("login", "reset_request", "link", "code", "signup", "inquiry", "scim", "api")
RATELIMIT_SCOPES = ("ip", "account", "token", "client")
OUTBOX_KINDS = ("mail", "sms")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
OUTBOX_GAUGES = (("pending", "idp_outbox_pending_messages", "Mails and SMS waiting to be delivered."),
                 ("failed", "idp_outbox_failed_messages", "Mails and SMS given up on (status failed)."),
                 ("oldest_pending_seconds", "idp_outbox_oldest_pending_seconds",
                  "Age of the oldest message waiting to be delivered."))
log = logging.getLogger(__name__)
_lock = threading.Lock()
_built = {}  # "metrics": the _Metrics of this process, made at first use


class _Metrics:
    def __init__(self):
        from prometheus_client import CollectorRegistry, Counter, Histogram
        self.registry = registry = CollectorRegistry()

        def counter(name, text, labels=()):
            return Counter(name, text, labels, registry=registry)

        self.requests = counter("idp_http_requests_total", "HTTP requests answered, by endpoint group and status.",
                                ("group", "status"))
        self.latency = Histogram("idp_http_request_duration_seconds", "Time to answer a request, by endpoint group.",
                                 ("group",), buckets=LATENCY_BUCKETS, registry=registry)
        self.logins = counter("idp_logins_total", "Login events (LoginEvent rows), by result and factor.",
                              ("result", "factor"))
        self.token_grants = counter("idp_oidc_token_grants_total", "Token endpoint answers, by grant type and "
                                    "result (issued or the OAuth error code).", ("grant_type", "result"))
        self.saml_responses = counter("idp_saml_responses_total", "SAML Responses issued, by status.", ("status",))
        self.lockouts = counter("idp_lockouts_total", "Accounts (or unknown login IDs) locked after failures.",
                                ("kind",))
        self.ratelimit_refusals = counter("idp_ratelimit_refusals_total", "Requests refused by a rate limit (429).",
                                          ("kind", "scope"))
        self.ratelimit_outages = counter("idp_ratelimit_storage_outages_total",
                                         "Times a process found the rate-limit storage unreachable.")
        self.ratelimit_fallbacks = counter("idp_ratelimit_fallback_checks_total", "Rate-limit checks counted in "
                                           "the process's memory while the storage was unreachable.")
        self.outbox_failures = counter("idp_outbox_delivery_failures_total", "Failed mail/SMS delivery attempts "
                                       "(gave_up: the last one, the message is failed).", ("kind", "gave_up"))


def _metrics():
    built = _built.get("metrics")
    if built is None:
        with _lock:
            built = _built.get("metrics") or _built.setdefault("metrics", _Metrics())
    return built


def _one_of(value, allowed):
    return value if value in allowed else OTHER


def _safely(update):
    """Run one metric update; a failure (e.g. the multi-process folder removed) is logged once, not raised."""
    try:
        update(_metrics())
    except Exception as exc:
        if not _built.get("failed"):
            _built["failed"] = True
            log.warning("metrics: cannot update (%s: %s); later failures are not logged", type(exc).__name__, exc)


def observe_request(group, status, seconds):
    group = _one_of(group, GROUPS)

    def update(m):
        m.requests.labels(group, str(int(status))).inc()
        m.latency.labels(group).observe(max(0.0, seconds))
    _safely(update)


def count_login(result, factor):
    _safely(lambda m: m.logins.labels(_one_of(result, LOGIN_RESULTS), _one_of(factor, FACTORS)).inc())


def count_token_grant(grant_type, result="issued"):
    _safely(lambda m: m.token_grants.labels(_one_of(grant_type, GRANT_TYPES), _one_of(result, GRANT_RESULTS)).inc())


def count_saml_response(status):
    """`status`: a SAML status URI (`urn:oasis:names:tc:SAML:2.0:status:Success`) or its last part."""
    _safely(lambda m: m.saml_responses.labels(_one_of(str(status).rsplit(":", 1)[-1], SAML_STATUSES)).inc())


def count_lockout(kind):
    _safely(lambda m: m.lockouts.labels(_one_of(kind, LOCKOUT_KINDS)).inc())


def count_ratelimit_refusal(kind, scope):
    _safely(lambda m: m.ratelimit_refusals.labels(_one_of(kind, RATELIMIT_KINDS),
                                                  _one_of(scope, RATELIMIT_SCOPES)).inc())


def count_ratelimit_fallback(outage_started=False):
    def update(m):
        if outage_started:
            m.ratelimit_outages.inc()
        m.ratelimit_fallbacks.inc()
    _safely(update)


def count_outbox_failure(kind=None, gave_up=False, *args, **kwargs):
    """An `idp.platform.outbox.on_failure` callback, `(kind, gave_up)`: one failed delivery attempt."""
    _safely(lambda m: m.outbox_failures.labels(_one_of(kind, OUTBOX_KINDS), "true" if gave_up else "false").inc())


def _outbox():
    """`idp.platform.outbox`, or None while it does not exist."""
    try:
        from idp.platform import outbox
    except ModuleNotFoundError as exc:
        if exc.name != "idp.platform.outbox":
            raise
        return None
    return outbox


def wire_outbox():
    """Count the outbox's failed delivery attempts (idempotent; nothing when there is no outbox)."""
    callbacks = getattr(_outbox(), "on_failure", None)
    if isinstance(callbacks, list) and count_outbox_failure not in callbacks:
        callbacks.append(count_outbox_failure)


class OutboxCollector:
    """The mail/SMS queue at scrape time (`outbox.queue_stats()`); nothing when it cannot be read."""

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily
        outbox = _outbox()
        if outbox is None or not hasattr(outbox, "queue_stats"):
            return
        try:
            stats = outbox.queue_stats()
        except Exception as exc:  # the database is down: the other metrics still answer
            log.warning("metrics: the outbox queue cannot be read (%s)", type(exc).__name__)
            return
        for key, name, text in OUTBOX_GAUGES:
            value = stats.get(key) if isinstance(stats, dict) else None
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                yield GaugeMetricFamily(name, text, value=value)


def exposition():
    """(body, content type) of a scrape: every process's values when PROMETHEUS_MULTIPROC_DIR is set
    (read at each scrape), this process's otherwise; then the outbox queue."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector
    registry = CollectorRegistry()
    folder = os.environ.get(MULTIPROC_ENV)
    if folder and os.path.isdir(folder):
        MultiProcessCollector(registry, path=folder)
    else:
        registry.register(_ProcessMetrics(_metrics().registry))
    registry.register(OutboxCollector())
    return generate_latest(registry), CONTENT_TYPE_LATEST


def use_multiprocess_folder(folder):
    """Count every worker of this server in `folder` (emptied now, 0700): sets PROMETHEUS_MULTIPROC_DIR
    for the worker processes started after this call (`idp serve`, before its workers fork)."""
    shutil.rmtree(folder, ignore_errors=True)
    private_folder(folder)
    os.environ[MULTIPROC_ENV] = folder


class _ProcessMetrics:
    """This process's registry, as one collector of the scrape's registry."""

    def __init__(self, registry):
        self.registry = registry

    def collect(self):
        return self.registry.collect()
