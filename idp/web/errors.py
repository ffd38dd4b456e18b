"""One place that turns errors into pages: generic public text, details to the log.

The JSON APIs called by apps (the endpoints idp.web.sso marks stateless: token, userinfo, introspect,
revoke, discovery, JWKS) answer a request they cannot read with an OAuth error body (RFC 6749 5.2).

The database unreachable (PostgreSQL down or restarting, a pool that cannot hand out a connection, SQLite
busy past its timeout) is a 503 with Retry-After, at once: a page, or `temporarily_unavailable` from the
JSON APIs. The engine pings a pooled connection before use (idp/platform/extensions.py), so the next request after
the database is back gets a fresh connection: no restart needed."""
import logging

from flask import current_app, g, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from idp.authn.login import record_rate_limited
from idp.platform.clock import current_time
from idp.platform.errors import ServiceError
from idp.platform.extensions import db
from idp.platform.ratelimit import RateLimited
from idp.web.sso import STATELESS

log = logging.getLogger(__name__)
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)
RETRY_AFTER = "5"  # seconds: a database restart usually takes a few


def register_error_handlers(app):
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(RateLimited, _rate_limited)
    app.register_error_handler(ServiceError, _service_error)
    app.register_error_handler(HTTPException, _http_error)
    for error in DATABASE_UNAVAILABLE:
        app.register_error_handler(error, _database_unavailable)
    app.register_error_handler(Exception, _unexpected_error)


def _page(status, message):
    return render_template("error.html", status=status, message=message), status


def _csrf_error(exc):
    log.info("CSRF check failed: %s", exc.description)
    return _page(400, _("フォームの有効期限が切れたか、不正な送信です。ページを再読み込みしてもう一度お試しください。"))


def _service_error(exc):
    db.session.rollback()
    log.info("service error: %s", exc.detail)
    return _page(exc.status_code, str(exc.message))


def _rate_limited(exc):
    """429 with Retry-After (whole seconds); idp.platform.ratelimit already logged which limit was hit.
    The refusal itself is kept as a login event (reason `rate_limited`)."""
    db.session.rollback()
    if exc.login_event:
        record_rate_limited({**exc.login_event, "now": exc.login_event["now"] or current_time()})
        db.session.commit()
    body, status = _page(429, str(exc.message))
    return body, status, {"Retry-After": str(exc.retry_after)}


_HTTP_MESSAGES = {
    400: _l("リクエストが正しくありません。"),
    403: _l("このページを表示する権限がありません。"),
    404: _l("ページが見つかりません。"),
    405: _l("この操作は許可されていません。"),
    413: _l("送信されたデータが大きすぎます。"),
    429: _l("リクエストが多すぎます。しばらく待ってから再度お試しください。"),
    503: _l("ただいまサービスを利用できません。しばらく待ってから再度お試しください。"),
}


# status -> (RFC 6749 5.2 error code, description) for the JSON APIs
_OAUTH_ERRORS = {400: ("invalid_request", "the request could not be read"),
                 413: ("invalid_request", "the request body is too large"),
                 503: ("temporarily_unavailable", "the service is temporarily unavailable, try again later")}


def _http_error(exc):
    if exc.code is None or exc.code < 400:
        return exc
    if exc.code in _OAUTH_ERRORS and request.endpoint in current_app.extensions.get(STATELESS, ()):
        return _oauth_error(exc.code, *_OAUTH_ERRORS[exc.code])
    return _page(exc.code, str(_HTTP_MESSAGES.get(exc.code) or _("エラーが発生しました。")))


def _oauth_error(status, error, description):
    response = jsonify({"error": error, "error_description": description})
    response.status_code = status
    response.headers.update({"Cache-Control": "no-store", "Pragma": "no-cache"})
    return response


def _database_unavailable(exc):
    """503 at once (never a 500 or a hang); the driver's reason to the log, without SQL parameters."""
    try:
        db.session.rollback()
    except Exception:  # the connection is gone: the session is discarded at teardown anyway
        pass
    g.sso_session = g.account = None  # the page must not load the signed-in account from the database
    log.error("database unavailable: %s: %s", type(exc).__name__, str(getattr(exc, "orig", exc)).strip()[:300])
    if request.endpoint in current_app.extensions.get(STATELESS, ()):
        response = _oauth_error(503, *_OAUTH_ERRORS[503])
    else:
        response = current_app.make_response(_page(503, str(_HTTP_MESSAGES[503])))
    response.headers["Retry-After"] = RETRY_AFTER
    return response


def _unexpected_error(exc):
    db.session.rollback()
    log.exception("unexpected error")
    return _page(500, _("エラーが発生しました。時間をおいて再度お試しください。"))
