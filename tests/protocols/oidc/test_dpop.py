"""DPoP (RFC 9449) over HTTP: sender-constrained tokens and the RFC's negative cases.

The proofs are made here with joserfc (the client side, independent of the server's code): a fresh key
per client, `typ: dpop+jwt`, the public key in the header. The server requires its nonce at the token
endpoint, so every token request first meets `use_dpop_nonce` (RFC 9449 8)."""
import base64
import hashlib
import json
import secrets

import pytest
from joserfc import jws, jwt
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey
from sqlalchemy import func, select

from idp.models.oidc import OidcClient, OidcUsedDpopProof
from idp.platform.extensions import db
from tests.protocols.oidc.conftest import ISSUER, REDIRECT_URI, epoch, pkce_pair

TOKEN_URL = f"{ISSUER}/oidc/token"
USERINFO_URL = f"{ISSUER}/oidc/userinfo"
OFFLINE = "openid profile email offline_access"


class DpopClient:
    """A key pair and the proofs a DPoP client makes with it."""

    def __init__(self, clock, key=None, alg="ES256"):
        self.clock, self.alg = clock, alg
        self.key = key or ECKey.generate_key("P-256")
        self.nonce = None

    @property
    def jkt(self):
        return self.key.thumbprint()

    def proof(self, method, url, *, access_token=None, header=None, signing_key=None, **claims):
        body = {"jti": secrets.token_urlsafe(16), "htm": method, "htu": url, "iat": epoch(self.clock.now())}
        if self.nonce:
            body["nonce"] = self.nonce
        if access_token:
            body["ath"] = base64.urlsafe_b64encode(hashlib.sha256(access_token.encode()).digest()).rstrip(
                b"=").decode()
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        protected = {"typ": "dpop+jwt", "alg": self.alg, "jwk": self.key.as_dict(private=False), **(header or {})}
        return jws.serialize_compact(protected, json.dumps(body), signing_key or self.key, algorithms=[self.alg])


def _auth(registration, data):
    if registration.client_secret is None:
        return {**data, "client_id": registration.client_id}, {}
    raw = f"{registration.client_id}:{registration.client_secret}".encode()
    return data, {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def token_request(client, registration, data, proof=None):
    data, headers = _auth(registration, data)
    if proof is not None:
        headers["DPoP"] = proof
    return client.post("/t/acme/oidc/token", data=data, headers=headers)


def dpop_token(client, registration, data, holder, **proof_options):
    """A token request with a proof; learns the server nonce first (RFC 9449 8) when it has none."""
    if holder.nonce is None:
        first = token_request(client, registration, data, holder.proof("POST", TOKEN_URL))
        assert first.status_code == 400 and first.get_json()["error"] == "use_dpop_nonce", first.get_json()
        holder.nonce = first.headers["DPoP-Nonce"]
    response = token_request(client, registration, data, holder.proof("POST", TOKEN_URL, **proof_options))
    if "DPoP-Nonce" in response.headers:
        holder.nonce = response.headers["DPoP-Nonce"]
    return response


@pytest.fixture
def holder(clock):
    return DpopClient(clock)


def _code(rp, registration, **params):
    verifier, challenge = pkce_pair()
    back = rp.log_in_through(registration, code_challenge=challenge, code_challenge_method="S256", **params)
    return {"grant_type": "authorization_code", "code": rp.code_from(back), "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier}


def test_discovery_lists_the_dpop_algorithms(client, acme):
    doc = client.get("/t/acme/.well-known/openid-configuration").get_json()
    assert {"ES256", "RS256", "PS256"} <= set(doc["dpop_signing_alg_values_supported"])
    assert not {"none", "HS256"} & set(doc["dpop_signing_alg_values_supported"])


def test_code_exchange_with_a_proof_gives_dpop_bound_tokens(rp, register, acme, client, holder, clock):
    registration = register(access_token_format="jwt")
    response = dpop_token(client, registration, _code(rp, registration, scope=OFFLINE), holder)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["token_type"] == "DPoP"
    assert response.headers["DPoP-Nonce"] == holder.nonce
    access = rp.verify(body["access_token"], registration.client_id, typ="at+jwt")
    assert access.claims["cnf"] == {"jkt": holder.jkt}  # RFC 9449 6.1
    introspected = client.post("/t/acme/oidc/introspect", data={"token": body["access_token"]},
                               headers=_auth(registration, {})[1]).get_json()
    assert introspected["active"] is True and introspected["token_type"] == "DPoP"
    assert introspected["cnf"] == {"jkt": holder.jkt}  # RFC 9449 6.2


def test_userinfo_takes_a_dpop_token_with_a_proof_and_ath(rp, rp_client, client, holder):
    access = dpop_token(client, rp_client, _code(rp, rp_client), holder).get_json()["access_token"]
    response = client.get("/t/acme/oidc/userinfo", headers={
        "Authorization": f"DPoP {access}", "DPoP": holder.proof("GET", USERINFO_URL, access_token=access)})
    assert response.status_code == 200, response.headers.get("WWW-Authenticate")
    assert response.get_json()["email"] == "taro@acme.example.com"
    posted = client.post("/t/acme/oidc/userinfo", headers={
        "Authorization": f"DPoP {access}", "DPoP": holder.proof("POST", USERINFO_URL, access_token=access)})
    assert posted.status_code == 200


@pytest.mark.parametrize("problem", ["no ath", "wrong ath", "GET proof for POST", "another key", "no proof"])
def test_userinfo_refuses_a_proof_that_does_not_fit_the_token(rp, rp_client, client, holder, clock, problem):
    access = dpop_token(client, rp_client, _code(rp, rp_client), holder).get_json()["access_token"]
    proofs = {
        "no ath": holder.proof("POST", USERINFO_URL),
        "wrong ath": holder.proof("POST", USERINFO_URL, access_token=access + "x"),
        "GET proof for POST": holder.proof("GET", USERINFO_URL, access_token=access),
        "another key": DpopClient(clock).proof("POST", USERINFO_URL, access_token=access),
        "no proof": None}
    headers = {"Authorization": f"DPoP {access}"}
    if proofs[problem]:
        headers["DPoP"] = proofs[problem]
    response = client.post("/t/acme/oidc/userinfo", headers=headers)
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("DPoP error=") and 'algs="' in challenge
    expected = "invalid_token" if problem == "another key" else "invalid_dpop_proof"
    assert f'error="{expected}"' in challenge


def test_a_dpop_bound_token_presented_as_bearer_is_refused(rp, rp_client, client, holder):
    access = dpop_token(client, rp_client, _code(rp, rp_client), holder).get_json()["access_token"]
    response = client.get("/t/acme/oidc/userinfo", headers={"Authorization": f"Bearer {access}"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('DPoP error="invalid_token"')
    as_form = client.post("/t/acme/oidc/userinfo", data={"access_token": access})
    assert as_form.status_code == 401


def test_a_bearer_token_presented_as_dpop_is_refused(rp, rp_client, client, holder):
    access = rp.full_login(rp_client).get_json()["access_token"]
    response = client.get("/t/acme/oidc/userinfo", headers={
        "Authorization": f"DPoP {access}", "DPoP": holder.proof("GET", USERINFO_URL, access_token=access)})
    assert response.status_code == 401 and 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert client.get("/t/acme/oidc/userinfo", headers={"Authorization": f"Bearer {access}"}).status_code == 200


def test_no_token_gets_both_challenges(client, acme):
    response = client.get("/t/acme/oidc/userinfo")
    assert response.status_code == 401
    assert response.headers.getlist("WWW-Authenticate")[0] == "Bearer"
    assert response.headers.getlist("WWW-Authenticate")[1].startswith('DPoP algs="')


def _unsigned(header, claims):
    """A compact JWS whose header joserfc would not let us sign (the signature is random bytes)."""
    def b64(raw):
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    return ".".join((b64(json.dumps(header).encode()), b64(json.dumps(claims).encode()), b64(secrets.token_bytes(64))))


def _bad_signature(holder, clock):
    other = ECKey.generate_key("P-256")
    return holder.proof("POST", TOKEN_URL, signing_key=other)


BAD_PROOFS = {
    "wrong htu": lambda h, c: h.proof("POST", f"{ISSUER}/oidc/userinfo"),
    "htu of another host": lambda h, c: h.proof("POST", TOKEN_URL.replace("127.0.0.1", "127.0.0.2")),
    "wrong htm": lambda h, c: h.proof("GET", TOKEN_URL),
    "stale iat": lambda h, c: h.proof("POST", TOKEN_URL, iat=epoch(c.now()) - 61),
    "iat in the future": lambda h, c: h.proof("POST", TOKEN_URL, iat=epoch(c.now()) + 61),
    "no jti": lambda h, c: h.proof("POST", TOKEN_URL, jti=None),
    "no iat": lambda h, c: h.proof("POST", TOKEN_URL, iat=None),
    "bad signature": _bad_signature,
    "typ JWT": lambda h, c: h.proof("POST", TOKEN_URL, header={"typ": "JWT"}),
    "private key in jwk": lambda h, c: h.proof("POST", TOKEN_URL, header={"jwk": h.key.as_dict(private=True)}),
    "not a JWT": lambda h, c: "not-a-jwt",
    "not ASCII": lambda h, c: "é.é.é",
    "jwk without its members": lambda h, c: h.proof("POST", TOKEN_URL, header={"jwk": {"kty": "RSA"}}),
    "jwk of an unknown curve": lambda h, c: _unsigned(
        {"typ": "dpop+jwt", "alg": "ES256", "jwk": {"kty": "EC", "crv": "X", "x": "AA", "y": "AA"}},
        {"jti": "j", "htm": "POST", "htu": TOKEN_URL, "iat": epoch(c.now())}),
    "jwk not an object": lambda h, c: _unsigned({"typ": "dpop+jwt", "alg": "ES256", "jwk": ["EC"]},
                                                {"jti": "j", "htm": "POST", "htu": TOKEN_URL, "iat": epoch(c.now())}),
    "htu not a string": lambda h, c: h.proof("POST", TOKEN_URL, htu=["x"]),
    "htu with a bad port": lambda h, c: h.proof("POST", "http://127.0.0.1:99999/t/acme/oidc/token"),
    "iat a string": lambda h, c: h.proof("POST", TOKEN_URL, iat=str(epoch(c.now()))),
    "jti an object": lambda h, c: h.proof("POST", TOKEN_URL, jti={"a": 1}),
}


@pytest.mark.sqlite_only  # the proof checks are the same on either database (jti replay: both)
@pytest.mark.parametrize("case", sorted(BAD_PROOFS))
def test_token_endpoint_refuses_bad_proofs_and_spends_nothing(rp, rp_client, client, holder, clock, case):
    data = _code(rp, rp_client)
    dpop_token(client, rp_client, {"grant_type": "client_credentials"}, holder)  # learns the nonce
    refused = token_request(client, rp_client, data, BAD_PROOFS[case](holder, clock))
    assert refused.status_code == 400, refused.get_json()
    assert refused.get_json()["error"] == "invalid_dpop_proof"
    assert refused.headers["Cache-Control"] == "no-store"
    good = token_request(client, rp_client, data, holder.proof("POST", TOKEN_URL))
    assert good.status_code == 200 and good.get_json()["token_type"] == "DPoP"  # the code was not spent


def test_symmetric_and_none_algorithms_are_refused(rp_client, client, holder):
    secret = OctKey.generate_key(256)
    hs = jwt.encode({"typ": "dpop+jwt", "alg": "HS256", "jwk": {"kty": "oct", "k": "AAAA"}},
                    {"jti": "j", "htm": "POST", "htu": TOKEN_URL, "iat": epoch(holder.clock.now())}, secret,
                    algorithms=["HS256"])
    unsigned = _unsigned({"typ": "dpop+jwt", "alg": "none", "jwk": holder.key.as_dict(private=False)},
                         {"jti": "k", "htm": "POST", "htu": TOKEN_URL, "iat": epoch(holder.clock.now())})
    unsigned = unsigned.rsplit(".", 1)[0] + "."
    for proof in (hs, unsigned):
        response = token_request(client, rp_client, {"grant_type": "client_credentials"}, proof)
        assert response.get_json()["error"] == "invalid_dpop_proof"


def test_htu_is_compared_after_normalisation_and_without_query(rp_client, client, holder):
    dpop_token(client, rp_client, {"grant_type": "client_credentials"}, holder)
    url = "HTTP://127.0.0.1:8000/t/%61cme/oidc/token?x=1#f"
    response = token_request(client, rp_client, {"grant_type": "client_credentials"}, holder.proof("POST", url))
    assert response.status_code == 200, response.get_json()


def test_a_replayed_jti_is_refused(rp_client, client, holder, app):
    dpop_token(client, rp_client, {"grant_type": "client_credentials"}, holder)
    proof = holder.proof("POST", TOKEN_URL)
    assert token_request(client, rp_client, {"grant_type": "client_credentials"}, proof).status_code == 200
    replay = token_request(client, rp_client, {"grant_type": "client_credentials"}, proof)
    assert replay.status_code == 400 and replay.get_json()["error"] == "invalid_dpop_proof"
    assert "jti" in replay.get_json()["error_description"]


def test_used_jtis_are_purged_once_their_window_has_passed(rp_client, client, holder, clock, app):
    for _ in range(2):
        dpop_token(client, rp_client, {"grant_type": "client_credentials"}, holder)
    clock.advance(seconds=62)
    dpop_token(client, rp_client, {"grant_type": "client_credentials"}, holder)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OidcUsedDpopProof)) == 1


def test_a_stale_nonce_gets_use_dpop_nonce_with_a_new_one(rp_client, client, holder, clock):
    dpop_token(client, rp_client, {"grant_type": "client_credentials"}, holder)
    old = holder.nonce
    clock.advance(minutes=11)
    response = token_request(client, rp_client, {"grant_type": "client_credentials"},
                             holder.proof("POST", TOKEN_URL))
    assert response.status_code == 400 and response.get_json()["error"] == "use_dpop_nonce"
    assert response.headers["DPoP-Nonce"] and response.headers["DPoP-Nonce"] != old
    holder.nonce = response.headers["DPoP-Nonce"]
    assert token_request(client, rp_client, {"grant_type": "client_credentials"},
                         holder.proof("POST", TOKEN_URL)).status_code == 200
    forged = token_request(client, rp_client, {"grant_type": "client_credentials"},
                           holder.proof("POST", TOKEN_URL, nonce=holder.nonce[:-2] + "AA"))
    assert forged.get_json()["error"] == "use_dpop_nonce"


def test_two_dpop_headers_are_refused(rp_client, client, holder):
    dpop_token(client, rp_client, {"grant_type": "client_credentials"}, holder)
    data, headers = _auth(rp_client, {"grant_type": "client_credentials"})
    response = client.post("/t/acme/oidc/token", data=data, headers=[
        *headers.items(), ("DPoP", holder.proof("POST", TOKEN_URL)), ("DPoP", holder.proof("POST", TOKEN_URL))])
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_dpop_proof"


def test_refresh_token_of_a_public_client_is_bound_to_its_key(rp, register, acme, client, holder, clock):
    public = register(public=True)
    first = dpop_token(client, public, _code(rp, public, scope=OFFLINE), holder).get_json()
    refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    other = DpopClient(clock)
    other.nonce = holder.nonce
    with_other_key = token_request(client, public, refresh, other.proof("POST", TOKEN_URL))
    assert with_other_key.status_code == 400 and with_other_key.get_json()["error"] == "invalid_grant"
    without_proof = token_request(client, public, refresh)
    assert without_proof.status_code == 400 and without_proof.get_json()["error"] == "invalid_dpop_proof"
    rotated = dpop_token(client, public, refresh, holder)
    assert rotated.status_code == 200 and rotated.get_json()["token_type"] == "DPoP"
    second = {"grant_type": "refresh_token", "refresh_token": rotated.get_json()["refresh_token"]}
    assert token_request(client, public, second).get_json()["error"] == "invalid_dpop_proof"  # still bound


def test_refresh_token_of_a_confidential_client_is_not_bound_to_the_key(rp, rp_client, client, holder, clock):
    first = dpop_token(client, rp_client, _code(rp, rp_client, scope=OFFLINE), holder).get_json()
    other = DpopClient(clock, key=RSAKey.generate_key(2048), alg="PS256")
    other.nonce = holder.nonce
    refreshed = token_request(client, rp_client, {"grant_type": "refresh_token",
                                                  "refresh_token": first["refresh_token"]},
                              other.proof("POST", TOKEN_URL))
    assert refreshed.status_code == 200 and refreshed.get_json()["token_type"] == "DPoP"
    access = refreshed.get_json()["access_token"]
    userinfo = client.get("/t/acme/oidc/userinfo", headers={
        "Authorization": f"DPoP {access}", "DPoP": other.proof("GET", USERINFO_URL, access_token=access)})
    assert userinfo.status_code == 200


def test_a_client_that_requires_dpop_is_refused_without_a_proof(rp, register, acme, client, holder):
    registration = register(require_dpop=True)
    data = _code(rp, registration)
    refused = token_request(client, registration, data)
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_dpop_proof"
    assert dpop_token(client, registration, data, holder).get_json()["token_type"] == "DPoP"


def test_cli_registers_a_client_that_requires_dpop(app, acme):
    result = app.test_cli_runner().invoke(args=[
        "app", "add-oidc", "--tenant", "acme", "--name", "経費精算", "--redirect-uri", "https://rp.example.com/cb",
        "--require-dpop", "--json"])
    assert result.exit_code == 0, result.output
    client_id = json.loads(result.output)["client_id"]
    with app.app_context():
        row = db.session.scalar(select(OidcClient).where(OidcClient.client_id == client_id))
        assert row.require_dpop is True


def test_without_a_proof_tokens_stay_bearer(rp, rp_client, client):
    response = rp.full_login(rp_client)
    assert response.get_json()["token_type"] == "Bearer" and "DPoP-Nonce" not in response.headers
    body = client.post("/t/acme/oidc/introspect", data={"token": response.get_json()["access_token"]},
                       headers=_auth(rp_client, {})[1]).get_json()
    assert body["token_type"] == "Bearer" and "cnf" not in body


def test_a_proof_kept_past_its_iat_window_is_refused(rp_client, client, holder, clock):
    dpop_token(client, rp_client, {"grant_type": "client_credentials"}, holder)
    proof = holder.proof("POST", TOKEN_URL)
    clock.advance(seconds=61)
    response = token_request(client, rp_client, {"grant_type": "client_credentials"}, proof)
    assert response.get_json()["error"] == "invalid_dpop_proof"


@pytest.mark.sqlite_only  # the proof checks are the same on either database (jti replay: both)
@pytest.mark.parametrize("make_key, alg", [(lambda: OKPKey.generate_key("Ed25519"), "EdDSA"),
                                           (lambda: OKPKey.generate_key("Ed25519"), "Ed25519"),
                                           (lambda: ECKey.generate_key("P-384"), "ES384"),
                                           (lambda: RSAKey.generate_key(2048), "RS256")])
def test_other_accepted_algorithms(rp_client, client, clock, make_key, alg):
    holder = DpopClient(clock, key=make_key(), alg=alg)
    response = dpop_token(client, rp_client, {"grant_type": "client_credentials"}, holder)
    assert response.status_code == 200 and response.get_json()["token_type"] == "DPoP"


def test_a_small_rsa_key_is_refused(rp_client, client, clock):
    holder = DpopClient(clock, key=RSAKey.generate_key(1024, auto_kid=False), alg="RS256")
    response = token_request(client, rp_client, {"grant_type": "client_credentials"}, holder.proof("POST", TOKEN_URL))
    assert response.get_json()["error"] == "invalid_dpop_proof"


def test_userinfo_answers_a_stale_nonce_with_a_new_one(rp, rp_client, client, holder, clock):
    access = dpop_token(client, rp_client, _code(rp, rp_client), holder).get_json()["access_token"]
    clock.advance(minutes=11)
    response = client.get("/t/acme/oidc/userinfo", headers={
        "Authorization": f"DPoP {access}", "DPoP": holder.proof("GET", USERINFO_URL, access_token=access)})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('DPoP error="use_dpop_nonce"')
    holder.nonce = response.headers["DPoP-Nonce"]
    again = client.get("/t/acme/oidc/userinfo", headers={
        "Authorization": f"DPoP {access}", "DPoP": holder.proof("GET", USERINFO_URL, access_token=access)})
    assert again.status_code == 200
