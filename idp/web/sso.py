"""Request glue shared by every blueprint: the SSO cookie and the signed-in account.

This module (unlike the services) reads `flask.request`; the services it calls
do not. Blueprints use `login_required` and `g.sso_session` / `g.account`.

Fresh logins (SAML ForceAuthn, OIDC prompt=login / max_age, a step-up): a protocol that sends the
browser to the login page puts a random marker in its return URL (FRESH_LOGIN_PARAM); the login page,
when a login completes for that URL, records the marker with the new SSO session in the browser's
form session (`record_fresh_login`); back at the protocol, `take_fresh_login` says once whether this
request's own login step happened. No clock is compared: a login in the same instant as the request,
but before it, does not count, nor does a replayed return URL after another login.
"""
from functools import wraps
from urllib.parse import parse_qs, urlsplit

from flask import current_app, g, redirect, request, session
from werkzeug.exceptions import HTTPException

from idp.authn import sessions
from idp.logs.audit import ClientInfo
from idp.platform.clock import current_time
from idp.platform.random_tokens import new_token, same
from idp.web.endpoints import login_url

SSO_COOKIE = "idp_sso"
STATELESS = "idp_stateless_endpoints"
FRESH_LOGIN_PARAM = "_login"  # in a protocol's return URL: the marker of that request's own login step
FRESH_LOGIN_KEY = "fresh_login"  # in the form session: [marker, sid of the SSO session that login opened]
MARKER_LENGTH = 64


def mark_stateless(app, *endpoints):
    """Endpoints that never use the SSO session (JSON APIs called by apps): the cookie is not looked up."""
    app.extensions.setdefault(STATELESS, set()).update(endpoints)


def client_info():
    return ClientInfo(ip=request.remote_addr or "", user_agent=request.headers.get("User-Agent", "")[:400])


def requested_ui_locale(supported):
    """The first supported language of an OIDC `ui_locales` (Core 3.1.2.1: space-separated BCP 47
    tags, preferred first), sent to this page or carried by the pending request in `next`; or None."""
    raw = request.args.get("ui_locales")
    if raw is None:
        pending = request.args.get("next", "")
        if request.method == "POST" and not pending:
            try:
                pending = request.form.get("next", "")
            except HTTPException:  # an unreadable body (over MAX_CONTENT_LENGTH): this is its error page
                pending = ""
        if pending.startswith("/") and "ui_locales=" in pending:
            raw = (parse_qs(urlsplit(pending).query).get("ui_locales") or [""])[0]
    for tag in (raw or "").split()[:20]:
        language = tag.split("-", 1)[0].lower()
        if language in supported:
            return language
    return None


def load_sso_session():
    """before_request: resolve the SSO cookie into g.sso_session / g.account (or None)."""
    if request.endpoint in current_app.extensions.get(STATELESS, ()):
        g.sso_session = g.account = None
        return
    g.sso_session = sessions.resolve(request.cookies.get(SSO_COOKIE), current_time())
    g.account = g.sso_session.account if g.sso_session else None


def set_sso_cookie(response, raw_token):
    response.set_cookie(
        SSO_COOKIE, raw_token, max_age=int(sessions.SSO_LIFETIME.total_seconds()),
        httponly=True, samesite="Lax", secure=current_app.config["IDP_HTTPS"], path="/",
    )
    return response


def clear_sso_cookie(response):
    response.delete_cookie(SSO_COOKIE, path="/", httponly=True, samesite="Lax",
                           secure=current_app.config["IDP_HTTPS"])
    return response


def login_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if g.get("account") is None:
            return redirect(login_url(next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)
    return wrapper


def new_login_marker():
    """A random marker for a return URL that must come back through its own login step."""
    return new_token(16)


def record_fresh_login(return_url, sso_session_sid):
    """The login page, once a login opened the SSO session `sso_session_sid` and the browser goes on to
    `return_url`: remember the marker that URL carries (the request waiting for exactly this login)."""
    query = urlsplit(return_url or "").query
    marker = (parse_qs(query).get(FRESH_LOGIN_PARAM) or [""])[0] if FRESH_LOGIN_PARAM in query else ""
    if marker and len(marker) <= MARKER_LENGTH:
        session[FRESH_LOGIN_KEY] = [marker, sso_session_sid]


def take_fresh_login(marker, sso_session):
    """True, once, when the login recorded for `marker` opened `sso_session` (the browser's current one):
    the request that put `marker` in its return URL had its own login step. The record is then spent."""
    if not marker or sso_session is None:  # (the form session is not even read on the usual path)
        return False
    recorded = session.get(FRESH_LOGIN_KEY)
    if not isinstance(recorded, list) or len(recorded) != 2:
        return False
    if not (same(recorded[0], marker) and same(recorded[1], sso_session.sid)):
        return False
    session.pop(FRESH_LOGIN_KEY, None)
    return True
