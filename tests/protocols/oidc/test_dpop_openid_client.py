"""DPoP end to end with openid-client for node (panva, OpenID-certified; DPoP through oauth4webapi) over
real HTTPS: discovery → our login form (driven here like a browser) → code exchange with a DPoP proof
(openid-client answers our `use_dpop_nonce` by itself) → UserInfo with a proof and `ath` → refresh with
a proof → introspection names the key (`cnf.jkt`, which openid-client's key is checked against) → the
same access token without a proof is refused. Nothing here calls the server's code.

openid-client is installed with npm into tests/output/node (ignored by git) on first use; without node
or npm (offline) the test is skipped."""
import json
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from idp.platform.clock import SystemClock
from tests.protocols.oidc.conftest import REDIRECT_URI, STRONG, pkce_pair
from tests.protocols.oidc.live_server import LiveServer, free_port, write_certificate

NODE_DIR = Path(__file__).resolve().parents[2] / "output" / "node"
OPENID_CLIENT = "openid-client@6.9.1"
CSRF_MARK = 'name="csrf_token" value="'

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


@pytest.fixture(scope="module")
def openid_client():
    module = NODE_DIR / "node_modules" / "openid-client" / "build" / "index.js"
    if not module.exists():
        if not (shutil.which("node") and shutil.which("npm")):
            pytest.skip("node and npm are needed for openid-client")
        NODE_DIR.mkdir(parents=True, exist_ok=True)
        installed = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(NODE_DIR),
                                    OPENID_CLIENT], capture_output=True, text=True, timeout=300)
        if installed.returncode != 0 or not module.exists():
            pytest.skip(f"npm could not install {OPENID_CLIENT}: {installed.stderr[-300:]}")
    return module


@pytest.fixture
def tls(tmp_path):
    cert_path, key_path = write_certificate(tmp_path)
    return {"port": free_port(), "cert": cert_path, "key": key_path}


@pytest.fixture
def config_overrides(tls):
    # openid-client checks the ID token's iat/exp against the real time and wants https.
    return {"IDP_BASE_URL": f"https://127.0.0.1:{tls['port']}", "IDP_CLOCK": SystemClock()}


@pytest.fixture
def live(app, tls):
    server = LiveServer(app, tls["port"], tls["cert"], tls["key"])
    yield f"https://127.0.0.1:{tls['port']}"
    server.close()


def _browser_login(browser, url, base):
    first = browser.get(url, allow_redirects=False)
    assert first.status_code == 302 and "/login?" in first.headers["Location"], first.text[:300]
    page = browser.get(base + first.headers["Location"])
    csrf = page.text.split(CSRF_MARK, 1)[1].split('"', 1)[0]
    posted = browser.post(f"{base}/login", allow_redirects=False, headers={"Referer": page.url}, data={
        "csrf_token": csrf, "email": "taro@acme.example.com", "password": STRONG,
        "next": parse_qs(urlsplit(first.headers["Location"]).query)["next"][0]})
    assert posted.status_code == 302, posted.text[:300]
    back = browser.get(base + posted.headers["Location"], allow_redirects=False)
    assert back.status_code == 302 and back.headers["Location"].startswith(REDIRECT_URI + "?")
    return back.headers["Location"]


def test_openid_client_gets_and_uses_dpop_bound_tokens(openid_client, live, tls, register, acme, tmp_path):
    registration = register(require_dpop=True)
    issuer = f"{live}/t/acme"
    verifier, challenge = pkce_pair()
    browser = requests.Session()
    browser.verify, browser.trust_env = tls["cert"], False
    callback = _browser_login(browser, f"{issuer}/oidc/authorize?" + urlencode({
        "response_type": "code", "client_id": registration.client_id, "redirect_uri": REDIRECT_URI,
        "scope": "openid profile email offline_access", "state": "st-node", "nonce": "n-node",
        "code_challenge": challenge, "code_challenge_method": "S256"}), live)

    script = tmp_path / "dpop_rp.mjs"
    script.write_text(SCRIPT % {"module": openid_client.as_uri()})
    env = {**os.environ, "NODE_EXTRA_CA_CERTS": tls["cert"], "NO_PROXY": "127.0.0.1"}
    run = subprocess.run(["node", str(script), issuer, registration.client_id, registration.client_secret, callback,
                          verifier, "st-node", "n-node"], capture_output=True, text=True, timeout=120, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    out = json.loads(run.stdout)

    assert "ES256" in out["dpopAlgs"]
    assert out["tokenType"].lower() == "dpop" and out["refreshedType"].lower() == "dpop"
    assert out["userinfo"]["email"] == "taro@acme.example.com"
    assert out["refreshedUserinfo"]["sub"] == out["sub"]
    assert out["introspection"]["active"] is True and out["introspection"]["token_type"] == "DPoP"
    assert out["introspection"]["cnf"] == {"jkt": out["jkt"]}
    assert out["bearer"] != "accepted" and out["bearer"]["status"] == 401
    challenge = out["bearer"]["challenges"][0]
    assert challenge["scheme"].lower() == "dpop" and challenge["parameters"]["error"] == "invalid_token"
