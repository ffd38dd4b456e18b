"""RP-Initiated Logout 1.0 (end_session_endpoint).

`post_logout_redirect_uri` is followed only when registered for the client named by
`client_id` or by the `id_token_hint`'s audience (2, 3); otherwise an error page. With a
valid hint for the browser's current session the session ends at once; without one the user
confirms (a CSRF-protected form), so a third-party page cannot log the user out (6).
"""
from authlib.common.urls import add_params_to_uri
from flask import flash, g, redirect, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError as CsrfValidationError

from idp.authn import sessions
from idp.oidc import clients as oidc_clients
from idp.oidc.jwt import verified_claims
from idp.platform.clock import current_time
from idp.platform.extensions import db
from idp.saml import logout as saml_logout
from idp.web.endpoints import login_url
from idp.web.sso import clear_sso_cookie
from protocols.oidc.authorize import AuthorizationPageError
from protocols.oidc.blueprint import bp

FORWARDED = ("id_token_hint", "post_logout_redirect_uri", "state", "client_id", "ui_locales")


def _client_and_target(tenant, params, hint, now):
    """(client or None, redirect target or None); AuthorizationPageError when they don't fit."""
    audience = (hint or {}).get("aud")
    hinted = audience[0] if isinstance(audience, list) and len(audience) == 1 else audience
    client_id = params.get("client_id") or hinted
    if params.get("client_id") and hinted and params["client_id"] != hinted:
        raise AuthorizationPageError(_l("ログアウト要求が正しくありません。"), detail="client_id differs from hint aud")
    client = oidc_clients.find(tenant, client_id) if client_id else None
    target = params.get("post_logout_redirect_uri")
    if target and (client is None or target not in client.post_logout_redirect_uri_list):
        raise AuthorizationPageError(_l("ログアウト後の戻り先が登録されていません。"),
                                     detail=f"unregistered post_logout_redirect_uri {target!r}")
    return client, target


def _confirmed():
    if request.method != "POST" or request.form.get("confirm") != "1":
        return False
    try:
        validate_csrf(request.form.get("csrf_token"))
    except (CsrfValidationError, CSRFError):
        return False
    return True


@bp.route("/oidc/logout", methods=["GET", "POST"], endpoint="logout")
def logout():
    tenant, now = g.oidc_tenant, current_time()
    params = request.values.to_dict()
    hint = None
    if params.get("id_token_hint"):
        hint = verified_claims(tenant, params["id_token_hint"], now)
        if hint is None:
            raise AuthorizationPageError(_l("ログアウト要求が正しくありません。"), detail="invalid id_token_hint")
    _client, target = _client_and_target(tenant, params, hint, now)
    session = g.sso_session if g.sso_session is not None and g.sso_session.tenant_id == tenant.id else None
    if session is not None:
        if not (hint and hint.get("sid") == session.sid) and not _confirmed():
            return render_template("oidc/logout.html", params={k: params[k] for k in FORWARDED if k in params})
        sessions.end(session, now, reason="logout")
        db.session.commit()
    if target:
        response = redirect(add_params_to_uri(target, [("state", params["state"])] if params.get("state") else []))
    else:
        flash(_l("ログアウトしました。"), "info")
        response = redirect(login_url())
    response.location = saml_logout.after_logout_url(session, response.location)  # its SAML SPs first
    return clear_sso_cookie(response) if session is not None else response
