"""Pushed Authorization Requests end to end with openid-client for node (panva, OpenID-certified; PAR
through oauth4webapi) over real HTTPS, for an app that requires PAR: discovery names the endpoint →
openid-client pushes the request (`buildAuthorizationUrlWithPAR`, client_secret_post) and builds the
authorization URL with client_id + request_uri → our login form (driven here like a browser) → code
exchange and UserInfo by openid-client (ID token, state and nonce checked by it) → the same
request_uri again is an error page. A push with a wrong secret is answered `invalid_client` (401),
as openid-client reports it. Nothing here calls the server's code. Skipped without node/npm."""
from urllib.parse import parse_qs, urlsplit

from tests.protocols.oidc.conftest import REDIRECT_URI, pkce_pair
from tests.support.openid_client import (browser_login, config_overrides, https_browser, live,  # noqa: F401
                                         openid_client, run_node, tls)

PUSH = r"""
import * as client from '%(module)s';
const [issuer, clientId, clientSecret, callback, challenge, state, nonce] = process.argv.slice(2);
const out = {};
const config = await client.discovery(new URL(issuer), clientId, clientSecret);
out.endpoint = config.serverMetadata().pushed_authorization_request_endpoint;
const parameters = {redirect_uri: callback, scope: 'openid profile email', state, nonce,
                    code_challenge: challenge, code_challenge_method: 'S256'};
out.url = (await client.buildAuthorizationUrlWithPAR(config, parameters)).href;
const wrong = await client.discovery(new URL(issuer), clientId, 'not-the-secret');
try {
  await client.buildAuthorizationUrlWithPAR(wrong, parameters);
  out.wrongSecret = 'accepted';
} catch (err) {
  // a 401 with WWW-Authenticate: openid-client reports the challenge and its error
  out.wrongSecret = {error: err.cause?.[0]?.parameters?.error, status: err.response?.status};
}
console.log(JSON.stringify(out));
"""

GRANT = r"""
import * as client from '%(module)s';
const [issuer, clientId, clientSecret, callback, verifier, state, nonce] = process.argv.slice(2);
const config = await client.discovery(new URL(issuer), clientId, clientSecret);
const tokens = await client.authorizationCodeGrant(config, new URL(callback),
  {pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce});
const claims = tokens.claims();
const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
console.log(JSON.stringify({aud: claims.aud, nonce: claims.nonce, email: userinfo.email}));
"""


def test_openid_client_pushes_the_request_and_completes_the_flow(
        openid_client, live, tls, register, acme, tmp_path):  # noqa: F811  (the imported fixtures)
    registration = register(require_par=True)
    issuer = f"{live}/t/acme"
    verifier, challenge = pkce_pair()
    secret = registration.client_secret
    pushed = run_node(PUSH, openid_client, tls, tmp_path, issuer, registration.client_id, secret, REDIRECT_URI,
                      challenge, "st-par", "n-par", name="par_push.mjs")
    assert pushed["endpoint"] == f"{issuer}/oidc/par"
    assert pushed["wrongSecret"] == {"error": "invalid_client", "status": 401}
    url = urlsplit(pushed["url"])
    query = parse_qs(url.query)
    assert set(query) == {"client_id", "request_uri"} and url.path == "/t/acme/oidc/authorize"
    assert query["request_uri"][0].startswith("urn:ietf:params:oauth:request_uri:")

    browser = https_browser(tls)
    callback = browser_login(browser, pushed["url"], live)
    out = run_node(GRANT, openid_client, tls, tmp_path, issuer, registration.client_id, secret, callback,
                   verifier, "st-par", "n-par", name="par_grant.mjs")
    assert out == {"aud": registration.client_id, "nonce": "n-par", "email": "taro@acme.example.com"}

    again = browser.get(pushed["url"], allow_redirects=False)  # signed in now: only the used request_uri stops it
    assert again.status_code == 400 and "Location" not in again.headers
    assert "ログイン要求の有効期限が切れたか、すでに使用されています。" in again.text
