"""Contract login through the upstream OpenID Connect provider (when configured; 404 otherwise)."""
from flask import abort, current_app, redirect, render_template, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from admin_ui.auth.forms import LoginForm
from admin_ui.contract import bp
from admin_ui.contract.auth import offer_choice, signed_in
from idp.owners import federation as owner_federation
from idp.platform.clock import current_time
from idp.platform.extensions import db
from idp.web.sso import client_info

# The pending state/nonce/PKCE verifier ride in a signed cookie of their own (the form session is
# cleared when the person signs in upstream, which may be this same IdP).
PENDING_COOKIE = "idp_owner_federation"
PENDING_PATH = "/contract/login/federated"
PENDING_MAX_AGE = 600


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="owner-federation")


def _pending_from_cookie():
    try:
        return _serializer().loads(request.cookies.get(PENDING_COOKIE, ""), max_age=PENDING_MAX_AGE)
    except BadSignature:
        return None


def _settings():
    settings = owner_federation.UpstreamSettings.from_config(current_app.config)
    if settings is None:
        abort(404)
    return settings


@bp.route("/login/federated")
def federated_login():
    url, pending = owner_federation.begin(_settings())
    response = redirect(url)
    response.set_cookie(PENDING_COOKIE, _serializer().dumps(pending), max_age=PENDING_MAX_AGE, path=PENDING_PATH,
                        httponly=True, samesite="Lax", secure=current_app.config["IDP_HTTPS"])
    return response


@bp.route("/login/federated/callback")
def federated_callback():
    settings = _settings()
    now = current_time()
    try:
        found = owner_federation.complete(settings, _pending_from_cookie(), code=request.args.get("code"),
                                          state=request.args.get("state"), error=request.args.get("error"),
                                          now=now, client=client_info())
    except owner_federation.FederationFailed as exc:
        db.session.commit()  # keep the login event
        page = render_template("contract/login.html", form=LoginForm(), error=exc.message, federation=True)
        return _forget_pending(current_app.make_response((page, 401)))
    if len(found) > 1:
        return _forget_pending(offer_choice(found, now, protocol="oidc"))
    return _forget_pending(signed_in(found[0], now))


def _forget_pending(response):
    """The pending values serve one callback only (the state and code are single-use anyway)."""
    response.delete_cookie(PENDING_COOKIE, path=PENDING_PATH, httponly=True, samesite="Lax",
                           secure=current_app.config["IDP_HTTPS"])
    return response
