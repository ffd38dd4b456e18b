"""After a logout: send the browser past the SAML SPs of the ended session (Profiles 4.4, front channel).

Any logout that ends the browser's SSO session (the portal's /logout, OIDC RP-initiated logout)
asks `after_logout_url(ended_session, next_url)` where to send the browser. Without a SAML SP
that registered an SLO URL that is `next_url` itself; otherwise our SAML propagation page,
which loads a signed LogoutRequest for each such SP in a hidden frame and then continues to
`next_url` when they answered or after a few seconds, so an SP that does not answer never holds
the user up. The page's address carries a signed, short-lived token naming the ended session
and `next_url` (already checked by the caller), so it cannot be pointed elsewhere.
"""
from datetime import timedelta
from urllib.parse import urlencode

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from idp.models import SsoSession
from idp.platform.extensions import db
from idp.platform.urls import issuer_for
from idp.saml import sso as saml_sso

TOKEN_LIFETIME = timedelta(minutes=10)


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="saml-front-channel-logout")


def after_logout_url(sso_session, next_url):
    """`next_url`, or the propagation page when the ended `sso_session` signed into SPs with an SLO URL."""
    if sso_session is None or not saml_sso.front_channel_targets(sso_session):
        return next_url
    token = _serializer().dumps({"s": sso_session.id, "t": sso_session.tenant_id, "n": next_url})
    return f"{issuer_for(sso_session.account.tenant.slug)}/saml/slo/propagate?{urlencode({'s': token})}"


def load(tenant, token):
    """(ended SsoSession, next_url) named by a propagation token of this tenant, or None."""
    try:
        data = _serializer().loads(token or "", max_age=int(TOKEN_LIFETIME.total_seconds()))
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("t") != tenant.id:
        return None
    sso_session = db.session.get(SsoSession, data.get("s"))
    if sso_session is None or sso_session.tenant_id != tenant.id or sso_session.ended_at is None:
        return None
    return sso_session, data.get("n") or "/"
