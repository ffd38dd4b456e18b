"""idp.platform.log_redaction: what `redact` hides and keeps, the filter on log records, the loggers it is
installed on, and gunicorn's logger class (a whole flow through real servers: tests/e2e/test_log_secrets.py)."""
import logging
import re

import pytest
from gunicorn.config import Config

from idp.platform.log_redaction import FILTER, REDACTED, RedactingFilter, redact
from idp.web.gunicorn_conf import RedactingLogger, logger_class

TOKEN = "uabv-OAibi-OcoV3611_g3DpFjdggY7LPtiJcsQNBa0"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0YXJvIn0.c2lnbmF0dXJl"


@pytest.mark.parametrize("text, expected", [
    (f"GET /activate/{TOKEN} HTTP/1.1", "GET /activate/[redacted] HTTP/1.1"),
    (f"POST /password/reset/{TOKEN} HTTP/1.1", "POST /password/reset/[redacted] HTTP/1.1"),
    (f"GET /signup/verify/{TOKEN}?lang=en HTTP/1.1", "GET /signup/verify/[redacted]?lang=en HTTP/1.1"),
    (f"GET /contract/activate/{TOKEN}", "GET /contract/activate/[redacted]"),
    (f"GET /contract/password/reset/{TOKEN}", "GET /contract/password/reset/[redacted]"),
    (f"GET /contract/handover/{TOKEN}", "GET /contract/handover/[redacted]"),
    (f"POST /admin/accounts/import/{TOKEN}/apply", "POST /admin/accounts/import/[redacted]/apply"),
    (f"https://idp.example.com/activate/{TOKEN}", "https://idp.example.com/activate/[redacted]"),  # a Referer
    (f"/t/acme/oidc/logout?id_token_hint={JWT}&state=s1", "/t/acme/oidc/logout?id_token_hint=[redacted]&state=s1"),
    ("/t/acme/oidc/authorize?client_id=c&login_hint=taro%40acme.example.com&state=s1",
     "/t/acme/oidc/authorize?client_id=c&login_hint=[redacted]&state=s1"),
    (f"/callback?code={TOKEN}&state=s1&iss=x", "/callback?code=[redacted]&state=s1&iss=x"),
    (f"code={TOKEN}&state=s1", "code=[redacted]&state=s1"),  # gunicorn's `q` atom: the bare query string
    (f"/contract/login/federated/callback?state=s&code={TOKEN}",
     "/contract/login/federated/callback?state=s&code=[redacted]"),
    ("/t/acme/saml/sso?SAMLRequest=fZJBb%2B&RelayState=r", "/t/acme/saml/sso?SAMLRequest=[redacted]&RelayState=r"),
    (f"/t/acme/oidc/userinfo?access_token={TOKEN}", "/t/acme/oidc/userinfo?access_token=[redacted]"),
    # inside `next`, where & and = are percent-encoded (and / may be)
    ("/login?next=/t/acme/oidc/authorize?client_id%3Dc%26login_hint%3Dtaro%2540acme%26state%3Ds1",
     "/login?next=/t/acme/oidc/authorize?client_id%3Dc%26login_hint%3D[redacted]%26state%3Ds1"),
    (f"/login?next=%2Factivate%2F{TOKEN}", "/login?next=%2Factivate%2F[redacted]"),
    (f"/login?next=%2factivate%2f{TOKEN}%3fx%3d1", "/login?next=%2factivate%2f[redacted]%3fx%3d1"),
])
def test_secrets_are_redacted_the_rest_kept(text, expected):
    assert redact(text) == expected
    assert redact(expected) == expected  # redacting twice (gunicorn's logger class and the app) is harmless


@pytest.mark.parametrize("text", [
    "GET /login?next=/portal HTTP/1.1", "GET /contract/handover HTTP/1.1", "GET /lang/en?next=/ HTTP/1.1",
    "GET /t/acme/oidc/authorize?response_type=code&scope=openid&state=s1 HTTP/1.1",
    "GET /admin/accounts?q=code HTTP/1.1", "GET /x?csrf_token=abc&barcode=1&Code=1 HTTP/1.1",
    "rate limited: kind=code scope=ip", "", None,
])
def test_text_without_secrets_is_unchanged(text):
    assert redact(text) == text


def test_every_route_with_a_token_in_its_path_is_redacted(app):
    """A new link page (a `<token>` in its URL) must be added to LINK_PREFIXES."""
    rules = [rule for rule in app.url_map.iter_rules() if "token" in rule.arguments]
    assert len(rules) >= 6
    for rule in rules:
        path = re.sub(r"<(?:\w+:)?token>", TOKEN, rule.rule)
        path = re.sub(r"<[^>]+>", "x", path)
        assert TOKEN not in redact(f"GET {path} HTTP/1.1"), rule.rule


def _record(msg, args, name="werkzeug"):
    return logging.LogRecord(name, logging.INFO, __file__, 1, msg, args, None)


def test_filter_rewrites_the_finished_message():
    werkzeug = _record('"%s" %s %s', (f"GET /activate/{TOKEN} HTTP/1.1", "200", "-"))
    atoms = {"h": "127.0.0.1", "r": f"GET /callback?code={TOKEN} HTTP/1.1", "s": "302"}
    gunicorn = _record('%(h)s "%(r)s" %(s)s', atoms, name="gunicorn.access")
    plain = _record("nothing secret: %s", ("here",))
    broken = _record("%s %s", ("one argument",))
    assert all(RedactingFilter().filter(record) for record in (werkzeug, gunicorn, plain, broken))
    assert werkzeug.getMessage() == f'"GET /activate/{REDACTED} HTTP/1.1" 200 -'
    assert gunicorn.getMessage() == f'127.0.0.1 "GET /callback?code={REDACTED} HTTP/1.1" 302'
    assert plain.args == ("here",)  # untouched
    assert broken.msg == "%s %s"  # left for the handler to report, as without the filter


@pytest.mark.parametrize("name", ["werkzeug", "granian.access", "_granian", "gunicorn.access", "gunicorn.error", "idp"])
def test_the_app_installs_the_filter_on_the_request_loggers(app, caplog, name):
    """Flask's own logger is "idp" (Exception on /activate/… [POST]); werkzeug's dev server, granian (also
    when started without `idp serve`) and gunicorn (also without idp/web/gunicorn_conf.py) log request lines."""
    caplog.set_level(logging.DEBUG)
    logging.getLogger(name).info("Exception on /activate/%s [POST]", TOKEN)
    assert TOKEN not in caplog.text and f"/activate/{REDACTED}" in caplog.text
    assert logging.getLogger(name).filters.count(FILTER) == 1


def test_gunicorn_logger_class_redacts_access_and_error_log(tmp_path):
    cfg = Config()
    cfg.set("accesslog", str(tmp_path / "access.log"))
    cfg.set("errorlog", str(tmp_path / "error.log"))
    assert logger_class is RedactingLogger
    logger = RedactingLogger(cfg)
    logger.setup(cfg)  # a configuration reload runs setup() again: still one filter
    assert logger.access_log.filters.count(FILTER) == 1 and logger.error_log.filters.count(FILTER) == 1
    logger.access_log.info("%(r)s", {"r": f"GET /t/acme/oidc/logout?id_token_hint={JWT} HTTP/1.1"})
    logger.exception("Error handling request %s", f"/password/reset/{TOKEN}")
    logs = (tmp_path / "access.log").read_text() + (tmp_path / "error.log").read_text()
    assert "id_token_hint=[redacted]" in logs and "/password/reset/[redacted]" in logs
    assert TOKEN not in logs and JWT not in logs


def test_a_database_error_in_the_log_shows_no_values(app):
    """An IntegrityError's text (logged with the traceback of an unexpected error) names the statement, not
    the bound values. (PostgreSQL's own DETAIL line of a unique violation still quotes the key.)"""
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from idp.platform.extensions import db
    with app.app_context():
        db.session.execute(text("CREATE TEMPORARY TABLE secret_probe (value VARCHAR(40) PRIMARY KEY)"))
        db.session.execute(text("INSERT INTO secret_probe VALUES (:v)"), {"v": "argon2-hash-like-secret"})
        try:
            db.session.execute(text("INSERT INTO secret_probe VALUES (:v)"), {"v": "argon2-hash-like-secret"})
        except IntegrityError as exc:
            message = str(exc)
        db.session.rollback()
    assert "secret_probe" in message and "SQL parameters hidden" in message
    assert "'argon2-hash-like-secret'" not in message  # the parameter list as SQLAlchemy prints it
