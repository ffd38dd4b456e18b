"""IDP_LOG_FORMAT=json: one JSON line per request and per log event, each with the request id that the
response echoes in X-Request-Id (a trusted proxy's own, else a new one); no secret in any line."""
import io
import json
import logging
import re

import pytest

from idp.platform.config import ConfigError
from idp.web import request_log

GENERATED = re.compile(r"[0-9a-f]{32}")
SECRET_JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0YXJvIn0.c2lnbmF0dXJl"
LINK_TOKEN = "Zx8-secret-link-token-4f2a9"


@pytest.fixture
def config_overrides(request):
    return {"IDP_LOG_FORMAT": "json", **getattr(request, "param", {})}


@pytest.fixture
def log_stream():
    """What the process's stderr handler writes, as JSON lines; the logging set-up restored afterwards."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    loggers = [logging.getLogger(name) for name in (*request_log.ACCESS_LOGGERS, "idp.request")]
    levels = [logger.level for logger in loggers]
    formatters = [(other, other.formatter) for name in ("", *request_log.SERVER_LOGGERS)
                  for other in logging.getLogger(name or None).handlers]
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)
    for logger, level in zip(loggers, levels):
        logger.setLevel(level)
    for other, formatter in formatters:
        other.setFormatter(formatter)


@pytest.fixture
def json_client(log_stream, app):
    """A client of the JSON-logging app (built after the handler is in place) and its parsed lines."""
    def lines():
        return [json.loads(line) for line in log_stream.getvalue().splitlines()]

    @app.get("/_test/event")
    def _event():
        logging.getLogger("idp.test").warning("opening /activate/%s for %s", LINK_TOKEN, "taro")
        return "ok"
    client = app.test_client()
    client.lines = lines
    return client


def request_lines(lines):
    return [line for line in lines if line["logger"] == "idp.request"]


def test_each_request_is_one_json_line_with_the_echoed_request_id(json_client):
    response = json_client.get("/t/acme/.well-known/openid-configuration")
    (line,) = request_lines(json_client.lines())
    assert GENERATED.fullmatch(response.headers["X-Request-Id"])
    assert line["request_id"] == response.headers["X-Request-Id"]
    assert line["level"] == "INFO" and line["message"] == "request" and line["time"]
    assert (line["tenant"], line["endpoint"], line["method"], line["status"]) == \
        ("acme", "oidc.discovery", "GET", response.status_code)
    assert line["path"] == "/t/acme/.well-known/openid-configuration" and line["client"] == "127.0.0.1"
    assert isinstance(line["duration_ms"], (int, float)) and line["duration_ms"] >= 0
    second = json_client.get("/healthz")
    assert second.headers["X-Request-Id"] != response.headers["X-Request-Id"]
    assert request_lines(json_client.lines())[1]["tenant"] is None


def test_a_log_event_is_a_json_line_with_the_request_id_and_no_link_token(json_client):
    response = json_client.get("/_test/event")
    event = next(line for line in json_client.lines() if line["logger"] == "idp.test")
    assert event["level"] == "WARNING" and event["request_id"] == response.headers["X-Request-Id"]
    assert event["message"] == "opening /activate/[redacted] for taro"
    assert LINK_TOKEN not in json.dumps(json_client.lines())


def test_one_time_link_and_id_token_hint_are_redacted(json_client):
    json_client.get(f"/activate/{LINK_TOKEN}")
    json_client.get(f"/t/acme/oidc/logout?id_token_hint={SECRET_JWT}&state=s-1")
    first, second = request_lines(json_client.lines())
    assert first["path"] == "/activate/[redacted]"
    assert second["path"] == "/t/acme/oidc/logout?id_token_hint=[redacted]&state=s-1"
    output = json.dumps(json_client.lines())
    assert LINK_TOKEN not in output and SECRET_JWT not in output and "eyJ" not in output


def test_an_untrusted_request_id_is_ignored(json_client):
    response = json_client.get("/healthz", headers={"X-Request-Id": "from-anyone-123"})
    assert GENERATED.fullmatch(response.headers["X-Request-Id"])
    assert request_lines(json_client.lines())[0]["request_id"] == response.headers["X-Request-Id"]


@pytest.mark.parametrize("config_overrides", [{"IDP_TRUSTED_PROXIES": "127.0.0.1"}], indirect=True)
@pytest.mark.parametrize("sent, kept", [
    ("nginx-7f3a.b_c", True),
    ("a" * 128, True),
    ("a" * 129, False),
    ("with space", False),
    ("semi;colon", False),
    ("日本語", False),
])
def test_a_trusted_proxys_request_id_is_kept_when_well_formed(json_client, sent, kept):
    response = json_client.get("/healthz", headers={"X-Request-Id": sent, "X-Forwarded-For": "203.0.113.9"})
    echoed = response.headers["X-Request-Id"]
    assert (echoed == sent) is kept and (kept or GENERATED.fullmatch(echoed))
    (line,) = request_lines(json_client.lines())
    assert line["request_id"] == echoed and line["client"] == "203.0.113.9"


@pytest.mark.parametrize("config_overrides", [{"IDP_LOG_FORMAT": "text"}], indirect=True)
def test_text_format_echoes_the_id_but_writes_no_json(json_client, log_stream):
    response = json_client.get("/healthz")
    assert GENERATED.fullmatch(response.headers["X-Request-Id"])
    json_client.get("/_test/event")
    output = log_stream.getvalue()
    assert len(output.splitlines()) == 1 and "opening /activate/" in output  # the event alone, as before
    assert not output.startswith("{")


def test_a_bad_format_stops_the_app_at_startup(tmp_path):
    from idp import create_app
    with pytest.raises(ConfigError, match="IDP_LOG_FORMAT must be text or json"):
        create_app({"IDP_INSTANCE_DIR": str(tmp_path), "IDP_SECRET_KEY": "k", "IDP_LOG_FORMAT": "xml"})
