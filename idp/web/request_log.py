"""Request ids, the per-request metrics and, with IDP_LOG_FORMAT=json, one JSON line per request and event.

- Request id: `X-Request-Id` as a trusted proxy sent it (IDP_TRUSTED_PROXIES, `environ["idp.proxied"]`;
  at most 128 of `A-Z a-z 0-9 . _ -`), else a new uuid4 hex; echoed in the response's `X-Request-Id`
  in both formats, and in every JSON line logged while the request runs.
- Every request: `idp_http_requests_total` and `idp_http_request_duration_seconds` by endpoint group
  (the blueprint's: login, oidc, saml, …, health for /healthz, /readyz and /metrics; `other` for
  what matched no route) (idp.platform.metrics).
- IDP_LOG_FORMAT=json (default `text`): the app's stderr handlers write JSON objects, one per line
  (`time`, `level`, `logger`, `message`, `request_id`), and each request adds one on logger `idp.request`
  (also `tenant` for /t/<slug>/…, `endpoint`, `method`, `path`, `status`, `duration_ms`, `client`). It
  replaces the server's access line (granian's, gunicorn's), which is then not written. Every value of
  every line goes through idp.platform.log_redaction first: no link token, code or ID token hint.
"""
import logging
import os
import re
import sys
import time
import uuid

from flask import current_app, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

from idp.platform import metrics
from idp.platform.config import ConfigError
from idp.platform.log_redaction import redact
from idp.platform.proxies import PROXIED

HEADER = "X-Request-Id"
REQUEST_ID = "idp.request_id"
STARTED = "idp.request_started"
VALID_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
TENANT_PATH = re.compile(r"^/t/([^/]{1,64})/")
FORMATS = ("text", "json")
GROUP_OF_BLUEPRINT = {"auth": "login", "password_reset": "login", "help": "login", "oidc": "oidc", "saml": "saml",
                      "admin": "admin", "portal": "portal", "contract": "contract", "signup": "signup",
                      "health": "health", "metrics": "health", "ui": "static", "scim": "scim", "api": "api"}
ACCESS_LOGGERS = ("granian.access", "gunicorn.access")  # their line is the JSON request line's duplicate
SERVER_LOGGERS = ("_granian", "gunicorn.error")  # own handlers, not the root's
request_log = logging.getLogger("idp.request")


def init_app(app):
    # read here until idp.platform.config's load_config names it
    log_format = str(app.config.get("IDP_LOG_FORMAT", os.environ.get("IDP_LOG_FORMAT")) or "text").strip().lower()
    if log_format not in FORMATS:
        raise ConfigError(f"IDP_LOG_FORMAT must be text or json, got {log_format!r}")
    app.config["IDP_LOG_FORMAT"] = log_format
    app.before_request_funcs.setdefault(None, []).insert(0, _start)  # before any hook that may answer
    app.after_request(_finish)
    if log_format == "json":
        install_json_logging()


def request_id():
    """The current request's id, or None outside a request."""
    return request.environ.get(REQUEST_ID) if has_request_context() else None


def _start():
    environ = request.environ
    environ[STARTED] = time.perf_counter()
    sent = request.headers.get(HEADER, "") if environ.get(PROXIED) else ""
    environ[REQUEST_ID] = sent if VALID_ID.fullmatch(sent) else uuid.uuid4().hex


def _finish(response):
    environ = request.environ
    if REQUEST_ID not in environ:  # a hook registered before ours answered (not expected)
        _start()
    response.headers[HEADER] = environ[REQUEST_ID]
    seconds = time.perf_counter() - environ[STARTED]
    blueprint = request.blueprint if request.url_rule is not None else None
    metrics.observe_request(GROUP_OF_BLUEPRINT.get(blueprint, metrics.OTHER), response.status_code, seconds)
    if current_app.config["IDP_LOG_FORMAT"] == "json":
        tenant = TENANT_PATH.match(request.path)
        query = request.query_string.decode("ascii", "replace")
        request_log.info("request", extra={
            "tenant": tenant.group(1) if tenant else None, "endpoint": request.endpoint, "method": request.method,
            "path": request.path + (f"?{query}" if query else ""), "status": response.status_code,
            "duration_ms": round(seconds * 1000, 1), "client": request.remote_addr})
    return response


class JsonLineFormatter(JsonFormatter):
    """One JSON object per record: time, level, logger, message, request_id and the record's extras,
    every text value redacted (idp.platform.log_redaction), tracebacks included."""

    def __init__(self):
        super().__init__("{levelname}{name}{message}", style="{", timestamp="time", json_ensure_ascii=False,
                         rename_fields={"levelname": "level", "name": "logger"})

    def add_fields(self, log_data, record, message_dict):
        super().add_fields(log_data, record, message_dict)
        log_data.setdefault("request_id", request_id())

    def process_log_record(self, log_data):
        return {key: redact(value) if isinstance(value, str) else value for key, value in log_data.items()}


def install_json_logging(stream=None):
    """JSON lines on the process's plain stream handlers (the root logger's, or a new one on stderr, and
    the server's own); the request line at INFO; the servers' access lines off. Idempotent."""
    formatter = JsonLineFormatter()
    root = logging.getLogger()
    handlers = [handler for handler in root.handlers if type(handler) is logging.StreamHandler]
    if not handlers:
        handlers = [logging.StreamHandler(stream or sys.stderr)]
        root.addHandler(handlers[0])
    for name in SERVER_LOGGERS:
        handlers += [handler for handler in logging.getLogger(name).handlers if type(handler) is logging.StreamHandler]
    for handler in handlers:
        handler.setFormatter(formatter)
    for name in ACCESS_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    request_log.setLevel(logging.INFO)
