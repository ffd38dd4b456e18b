"""Authorization endpoint (OIDC Core 3.1.2), GET and POST, response_type=code only.

Flow: parse → (client_id, redirect_uri) must name a registered client and one of its exact
redirect URIs, else an error page and never a redirect → every later error goes back to that
redirect URI with `state` and `iss` (RFC 9207) → a live SSO session of this tenant goes straight
through, otherwise the browser logs in at the tenant's /t/{tenant}/login (that tenant's account only:
an address may have accounts in several tenants) and `next` brings it back here with a random
marker of this request's own login step (idp.web.sso.FRESH_LOGIN_PARAM): prompt=login, max_age=0 and an
exceeded max_age are satisfied once by the login made for that return URL, never by comparing clocks.

Pushed requests (RFC 9126, par.py): `client_id` + a `request_uri` of PAR stand for the parameters the
client pushed; they are checked again by the same `parse` and the request_uri is spent at this first
use. If the browser must log in first, its return URL carries the id of that spent request, signed
(PAR_PARAM, with the app's secret key), so the login may take longer than the request_uri's 60 s, the
request_uri is never usable twice and the parameters never travel through the browser.
"""
import re
from dataclasses import dataclass
from urllib.parse import urlencode

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749.errors import (InvalidRequestError, InvalidScopeError, OAuth2Error,
                                           UnsupportedResponseTypeError)
from authlib.oidc.core.errors import LoginRequiredError, RequestNotSupportedError, RequestURINotSupportedError
from flask import current_app, g, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeTimedSerializer

from idp.oidc import authorization as oidc_authorization
from idp.oidc import clients as oidc_clients
from idp.oidc import par
from idp.oidc.claims import SCOPES_SUPPORTED, parse_claims_request
from idp.oidc.jwt import unverified_claims, verified_claims
from idp.platform.clock import current_time
from idp.platform.errors import ServiceError
from idp.platform.extensions import db
from idp.platform.urls import issuer_for
from idp.platform.validation import is_number, parse_number
from idp.web.endpoints import login_url
from idp.web.sso import FRESH_LOGIN_PARAM, client_info, new_login_marker, take_fresh_login
from protocols.oidc.blueprint import bp

PKCE_CHALLENGE_RE = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
# A longer max_age (any number of digits is valid) is read as this: older than any SSO session lives, so it
# asks for the same, and a timedelta of it cannot overflow.
MAX_AGE = 10 * 365 * 24 * 3600
PAR_PARAM = "_par"  # in the login's return URL: the id of the pushed request being resumed, signed


class AuthorizationPageError(ServiceError):
    """The request cannot be answered to the client (unknown client or redirect URI): an error page."""


@dataclass
class AuthorizationRequest:
    client: object
    redirect_uri: str
    state: str
    scope: str
    nonce: str
    prompt: set
    max_age: object
    hint_subject: str
    login_hint: str
    code_challenge: str
    claims: str


def parse(tenant, params, now, pushed=False):
    """The checked AuthorizationRequest of `params` (also what a pushed request must pass, par.py);
    AuthorizationPageError when no redirect is trusted, else an OAuth2Error to redirect.
    `pushed`: the parameters come from a pushed request (RFC 9126), as some clients require."""
    client = oidc_clients.find(tenant, params.get("client_id"))
    if client is None:
        raise AuthorizationPageError(_l("アプリが登録されていません。アプリの管理者にお問い合わせください。"),
                                     detail=f"unknown client_id {params.get('client_id')!r}")
    redirect_uri, state = params.get("redirect_uri", ""), params.get("state") or None
    if not redirect_uri and ("request" in params or "request_uri" in params):
        redirect_uri, state = _where_to_refuse_request_object(params, client)
    if redirect_uri not in client.redirect_uri_list:  # exact string match (RFC 9700 4.1.3)
        raise AuthorizationPageError(_l("アプリの設定に誤りがあります（リダイレクトURIが登録されていません）。"),
                                     detail=f"unregistered redirect_uri {redirect_uri!r}")

    def error(cls, description):
        return cls(description, redirect_uri=redirect_uri, state=state)

    if client.require_pushed_authorization_requests and not pushed:  # RFC 9126 5
        raise error(InvalidRequestError, "this client must push its authorization requests (PAR)")
    if "request" in params:
        raise error(RequestNotSupportedError, "request objects are not supported")
    if "request_uri" in params:
        raise error(RequestURINotSupportedError, "request_uri is not supported")
    response_type = params.get("response_type")
    if not response_type:
        raise error(InvalidRequestError, "response_type is required")
    if response_type != "code":
        raise UnsupportedResponseTypeError(response_type, redirect_uri=redirect_uri, state=state)
    if params.get("response_mode", "query") != "query":
        raise error(InvalidRequestError, "only response_mode=query is supported")
    scopes = params.get("scope", "").split()
    if "openid" not in scopes:
        raise error(InvalidScopeError, "the openid scope is required")
    prompt = set(params.get("prompt", "").split())
    if "none" in prompt and len(prompt) > 1:
        raise error(InvalidRequestError, "prompt=none cannot be combined with other values")
    max_age = params.get("max_age")
    if max_age is not None:
        if not is_number(max_age):
            raise error(InvalidRequestError, "max_age must be a non-negative integer")
        seconds = parse_number(max_age, maximum=MAX_AGE)
        max_age = MAX_AGE if seconds is None else seconds  # digits, so None is a larger number
    if parse_claims_request(params.get("claims")) is None:
        raise error(InvalidRequestError, "claims must be a JSON object")
    nonce = params.get("nonce", "")
    if len(nonce) > 500:
        raise error(InvalidRequestError, "nonce is too long")
    challenge = _code_challenge(params, client, error)
    hint_subject = ""
    if params.get("id_token_hint"):
        hint = verified_claims(tenant, params["id_token_hint"], now)
        if hint is None:
            raise error(InvalidRequestError, "invalid id_token_hint")
        hint_subject = str(hint.get("sub", ""))
    return AuthorizationRequest(
        client=client, redirect_uri=redirect_uri, state=state,
        scope=" ".join(s for s in dict.fromkeys(scopes) if s in SCOPES_SUPPORTED), nonce=nonce, prompt=prompt,
        max_age=max_age, hint_subject=hint_subject, login_hint=params.get("login_hint", ""),
        code_challenge=challenge, claims=params.get("claims", ""))


def _where_to_refuse_request_object(params, client):
    """(redirect_uri, state) for answering request_not_supported / request_uri_not_supported when the
    request carries them only inside a request object (OIDC Core 6.1 requires only response_type and
    client_id outside it). The object is not verified, so its redirect_uri must still be registered;
    for request_uri, the client's only registered redirect URI."""
    if "request" in params:
        claims = unverified_claims(params["request"])
        uri, state = claims.get("redirect_uri"), claims.get("state")
        return (uri if isinstance(uri, str) else "",
                state if isinstance(state, str) and state and len(state) <= 500 else None)
    registered = client.redirect_uri_list
    return (registered[0] if len(registered) == 1 else ""), None


def _code_challenge(params, client, error):
    """RFC 7636 with S256 only; required of public clients (RFC 9700 2.1.1)."""
    challenge = params.get("code_challenge", "")
    if not challenge:
        if client.public:
            raise error(InvalidRequestError, "code_challenge (PKCE, S256) is required for public clients")
        return ""
    if params.get("code_challenge_method", "plain") != "S256":
        raise error(InvalidRequestError, "code_challenge_method must be S256")
    if not PKCE_CHALLENGE_RE.match(challenge):
        raise error(InvalidRequestError, "invalid code_challenge")
    return challenge


def _redirect_with(issuer, uri, params):
    return redirect(add_params_to_uri(uri, params + [("iss", issuer)]), code=302)


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="oidc-pushed-request")


def _resolve(tenant, incoming, now):
    """(parameters, id of the pushed request or None): those of the pushed request this one names
    (client_id + request_uri of PAR, spent now, or its signed id after the login), else the request's own."""
    if PAR_PARAM in incoming:
        try:
            carried = _serializer().loads(incoming[PAR_PARAM], max_age=int(par.LOGIN_LIFETIME.total_seconds()))
        except BadSignature:
            carried = None
        params = (par.resume(tenant, carried.get("r"), now)
                  if isinstance(carried, dict) and carried.get("t") == tenant.id else None)
        if params is None:
            raise AuthorizationPageError(_l("ログイン要求の有効期限が切れました。アプリに戻ってもう一度お試しください。"),
                                         detail="bad or stale pushed request in the return URL")
        return params, carried["r"]
    if par.is_pushed_uri(incoming.get("request_uri")):
        client = oidc_clients.find(tenant, incoming.get("client_id"))
        pushed = par.spend(tenant, client, incoming["request_uri"], now)
        if pushed is None:  # the redirect_uri of an unknown pushed request is not trusted: a page
            raise AuthorizationPageError(
                _l("ログイン要求の有効期限が切れたか、すでに使用されています。アプリに戻ってもう一度お試しください。"),
                detail="unknown, expired, used or foreign PAR request_uri")
        return pushed.parameters, pushed.id
    return incoming, None


def _login_redirect(tenant, params, req, pushed):
    if pushed is not None:  # the request_uri is spent: its id goes on, signed (see the module's docstring)
        resume = {"client_id": req.client.client_id, PAR_PARAM: _serializer().dumps({"t": tenant.id, "r": pushed})}
        if params.get("ui_locales"):
            resume["ui_locales"] = params["ui_locales"]  # the login page's language (idp.web.sso)
    else:
        resume = {k: v for k, v in params.items() if k != FRESH_LOGIN_PARAM}
    resume[FRESH_LOGIN_PARAM] = new_login_marker()  # a new one each time: a login counts for one return
    path = f"{url_for('oidc.authorize', tenant_slug=tenant.slug)}?{urlencode(resume)}"
    args = {"next": path}
    if req.login_hint:
        args["login_hint"] = req.login_hint
    if g.sso_session is not None:
        args["reauth"] = "1"
    return redirect(login_url(tenant.slug, **args))


@bp.route("/oidc/authorize", methods=["GET", "POST"], endpoint="authorize")
def authorize():
    tenant, now = g.oidc_tenant, current_time()
    issuer = issuer_for(tenant.slug)  # read before the commits expire the row
    incoming = request.values.to_dict()
    params, pushed = _resolve(tenant, incoming, now)
    try:
        req = parse(tenant, params, now, pushed=pushed is not None)
        fresh = take_fresh_login(incoming.get(FRESH_LOGIN_PARAM), g.sso_session)
        if oidc_authorization.needs_login(g.sso_session, tenant, prompt=req.prompt, max_age=req.max_age,
                                          hint_subject=req.hint_subject, fresh=fresh, now=now):
            if "none" in req.prompt:
                raise LoginRequiredError(redirect_uri=req.redirect_uri, state=req.state)
            if pushed is not None:
                db.session.commit()  # the request_uri stays spent
            return _login_redirect(tenant, params, req, pushed)
        code = oidc_authorization.grant_code(
            tenant, req.client, g.sso_session, redirect_uri=req.redirect_uri, scope=req.scope, nonce=req.nonce,
            code_challenge=req.code_challenge, claims=req.claims, now=now, client_info=client_info(),
            state=req.state)
    except OAuth2Error as exc:
        db.session.commit()  # keep the refusal's login event
        return _redirect_with(issuer, exc.redirect_uri, exc.get_body())
    db.session.commit()
    return _redirect_with(issuer, req.redirect_uri, [("code", code)] + ([("state", req.state)] if req.state else []))
