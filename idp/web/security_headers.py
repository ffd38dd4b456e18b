"""Security headers on every response (flask-talisman): CSP with a per-request script nonce, frame
and referrer policies, nosniff, HSTS under https.

The JSON endpoints apps call (token, UserInfo, JWKS, …: `idp.web.sso.mark_stateless`) get the headers
Talisman made for that endpoint's first JSON response: there they depend on nothing in the request
but whether it came over https (no nonce, no template), and building them again costs ~0.1 ms of
every token request. Talisman's before-request hooks (https redirect, off here; the script nonce, which these
endpoints never use) are skipped for them too.
"""
from flask import current_app, request
from flask_talisman import Talisman

from idp.web.sso import STATELESS

MEMO = "idp_stateless_security_headers"


def init_app(app, https):
    talisman = Talisman(
        app, force_https=False, strict_transport_security=https, session_cookie_secure=https,
        frame_options="DENY", referrer_policy="same-origin",
        content_security_policy={"default-src": "'self'", "img-src": "'self' data:", "form-action": "*",
                                 "frame-ancestors": "'none'"},
        content_security_policy_nonce_in=["script-src"],
    )
    hooks = app.after_request_funcs[None]
    hooks[hooks.index(talisman._set_response_headers)] = _memoized(talisman._set_response_headers)
    hooks = app.before_request_funcs[None]
    for hook in (talisman._force_https, talisman._make_nonce):
        hooks[hooks.index(hook)] = _not_for_stateless(hook)
    app.extensions[MEMO] = {}


def _stateless():
    return request.endpoint in current_app.extensions.get(STATELESS, ())


def _https_for_talisman():
    """What Talisman's HSTS decision depends on: https, as seen directly or as a trusted proxy says (the
    scheme idp.platform.proxies set; it removes X-Forwarded-Proto, which Talisman reads unverified), or debug."""
    return request.is_secure or current_app.debug


def _not_for_stateless(hook):
    def before_request():
        if not _stateless():
            return hook()
    return before_request


def _memoized(set_headers):
    def set_response_headers(response):
        if response.mimetype != "application/json" or not _stateless():
            return set_headers(response)
        memo, key = current_app.extensions[MEMO], (request.endpoint, _https_for_talisman())
        added = memo.get(key)
        if added is None:
            before = set(response.headers.keys())
            set_headers(response)
            added = [(k, v) for k, v in response.headers.items() if k not in before]
            if not any("nonce-" in v for _k, v in added):
                memo[key] = added
            return response
        for name, value in added:
            response.headers[name] = value
        return response
    return set_response_headers
