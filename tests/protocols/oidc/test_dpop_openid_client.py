"""DPoP end to end with openid-client for node (panva, OpenID-certified; DPoP through oauth4webapi) over
real HTTPS: discovery → our login form (driven here like a browser) → code exchange with a DPoP proof
(openid-client answers our `use_dpop_nonce` by itself) → UserInfo with a proof and `ath` → refresh with
a proof → introspection names the key (`cnf.jkt`, which openid-client's key is checked against) → the
same access token without a proof is refused. Nothing here calls the server's code.

openid-client is installed with npm into tests/output/node (ignored by git) on first use; without node
or npm (offline) the test is skipped."""
from urllib.parse import urlencode

from tests.protocols.oidc.conftest import REDIRECT_URI, pkce_pair
from tests.support.openid_client import (browser_login, config_overrides, https_browser, live,  # noqa: F401
                                         openid_client, run_node, tls)

SCRIPT = r"""
import * as client from '%(module)s';
const [issuer, clientId, clientSecret, callback, verifier, state, nonce] = process.argv.slice(2);
const out = {};
const config = await client.discovery(new URL(issuer), clientId, clientSecret);
out.dpopAlgs = config.serverMetadata().dpop_signing_alg_values_supported;
const keyPair = await client.randomDPoPKeyPair('ES256');
const jwk = await crypto.subtle.exportKey('jwk', keyPair.publicKey);
const digest = await crypto.subtle.digest('SHA-256',
  new TextEncoder().encode(JSON.stringify({crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y})));
out.jkt = Buffer.from(digest).toString('base64url');
const DPoP = client.getDPoPHandle(config, keyPair);
const tokens = await client.authorizationCodeGrant(config, new URL(callback),
  {pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce}, undefined, {DPoP});
out.tokenType = tokens.token_type;
out.sub = tokens.claims().sub;
out.userinfo = await client.fetchUserInfo(config, tokens.access_token, out.sub, {DPoP});
const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token, undefined, {DPoP});
out.refreshedType = refreshed.token_type;
out.refreshedUserinfo = await client.fetchUserInfo(config, refreshed.access_token, out.sub, {DPoP});
out.introspection = await client.tokenIntrospection(config, refreshed.access_token);
try {
  await client.fetchUserInfo(config, refreshed.access_token, out.sub);
  out.bearer = 'accepted';
} catch (err) {
  out.bearer = {status: err.response?.status, challenges: err.cause};
}
console.log(JSON.stringify(out));
"""


def test_openid_client_gets_and_uses_dpop_bound_tokens(
        openid_client, live, tls, register, acme, tmp_path):  # noqa: F811  (the imported fixtures)
    registration = register(require_dpop=True)
    issuer = f"{live}/t/acme"
    verifier, challenge = pkce_pair()
    callback = browser_login(https_browser(tls), f"{issuer}/oidc/authorize?" + urlencode({
        "response_type": "code", "client_id": registration.client_id, "redirect_uri": REDIRECT_URI,
        "scope": "openid profile email offline_access", "state": "st-node", "nonce": "n-node",
        "code_challenge": challenge, "code_challenge_method": "S256"}), live)

    out = run_node(SCRIPT, openid_client, tls, tmp_path, issuer, registration.client_id, registration.client_secret,
                   callback, verifier, "st-node", "n-node", name="dpop_rp.mjs")

    assert "ES256" in out["dpopAlgs"]
    assert out["tokenType"].lower() == "dpop" and out["refreshedType"].lower() == "dpop"
    assert out["userinfo"]["email"] == "taro@acme.example.com"
    assert out["refreshedUserinfo"]["sub"] == out["sub"]
    assert out["introspection"]["active"] is True and out["introspection"]["token_type"] == "DPoP"
    assert out["introspection"]["cnf"] == {"jkt": out["jkt"]}
    assert out["bearer"] != "accepted" and out["bearer"]["status"] == 401
    challenge = out["bearer"]["challenges"][0]
    assert challenge["scheme"].lower() == "dpop" and challenge["parameters"]["error"] == "invalid_token"
