"""Request glue shared by every blueprint: the SSO cookie and the signed-in account.

This module (unlike the services) reads `flask.request`; the services it calls
do not. Blueprints use `login_required` and `g.sso_session` / `g.account`.
"""
from functools import wraps

from flask import current_app, g, redirect, request, url_for

from . import sessions
from .audit import ClientInfo
from .clock import current_time

SSO_COOKIE = "idp_sso"


def client_info():
    return ClientInfo(ip=request.remote_addr or "", user_agent=request.headers.get("User-Agent", "")[:400])


def load_sso_session():
    """before_request: resolve the SSO cookie into g.sso_session / g.account (or None)."""
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
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)
    return wrapper
