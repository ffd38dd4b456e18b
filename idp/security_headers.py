"""Security headers on every response (flask-talisman): CSP with a per-request script nonce, frame
and referrer policies, nosniff, HSTS under https.

The JSON endpoints apps call (token, UserInfo, JWKS, …: `idp.web.mark_stateless`) get the headers
Talisman made for that endpoint's first JSON response: there they depend on nothing in the request
(no nonce, no template), and building them again costs ~0.1 ms of every token request.
"""
from flask import current_app, request
from flask_talisman import Talisman

from .web import STATELESS

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
    app.extensions[MEMO] = {}


def _memoized(set_headers):
    def set_response_headers(response):
        endpoint = request.endpoint
        if response.mimetype != "application/json" or endpoint not in current_app.extensions.get(STATELESS, ()):
            return set_headers(response)
        memo, key = current_app.extensions[MEMO], (endpoint, request.is_secure)  # HSTS only over https
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
