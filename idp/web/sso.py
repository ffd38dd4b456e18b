"""Request glue shared by every blueprint: the SSO cookie and the signed-in account.

This module (unlike the services) reads `flask.request`; the services it calls
do not. Blueprints use `login_required` and `g.sso_session` / `g.account`.
"""
from functools import wraps
from urllib.parse import parse_qs, urlsplit

from flask import current_app, g, redirect, request
from werkzeug.exceptions import HTTPException

from idp.authn import sessions
from idp.logs.audit import ClientInfo
from idp.platform.clock import current_time
from idp.web.endpoints import login_url

SSO_COOKIE = "idp_sso"
STATELESS = "idp_stateless_endpoints"


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
