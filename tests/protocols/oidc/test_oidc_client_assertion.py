"""private_key_jwt (OIDC Core 9, RFC 7523 3): signature, iss/sub, aud, exp, iat, nbf, single-use jti."""
import base64
import json
import uuid

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.protocols.oidc.conftest import ISSUER, REDIRECT_URI, epoch

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
KEY = RSAKey.generate_key(2048, parameters={"kid": "rp-1", "alg": "RS256"})


@pytest.fixture
def jwt_client(register, acme):
    return register(jwks=json.dumps({"keys": [KEY.as_dict(private=False)]}))


def _assertion(registration, clock, signer=KEY, **overrides):
    now = epoch(clock.now())
    claims = {"iss": registration.client_id, "sub": registration.client_id, "aud": f"{ISSUER}/oidc/token",
              "jti": str(uuid.uuid4()), "iat": now, "exp": now + 60, **overrides}
    return jwt.encode({"alg": "RS256", "kid": "rp-1"}, {k: v for k, v in claims.items() if v is not None}, signer)


def _client_credentials(rp, assertion, path="token", **extra):
    return rp.http.post(f"/t/acme/oidc/{path}", data={"grant_type": "client_credentials", "client_assertion": assertion,
                                                      "client_assertion_type": ASSERTION_TYPE, **extra})


def test_a_valid_assertion_authenticates_and_gives_tokens(rp, jwt_client, clock):
    code = rp.code_from(rp.log_in_through(jwt_client))
    response = rp.http.post("/t/acme/oidc/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
        "client_assertion_type": ASSERTION_TYPE, "client_assertion": _assertion(jwt_client, clock)})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert rp.verify(response.get_json()["id_token"], jwt_client.client_id)


@pytest.mark.parametrize("aud", [ISSUER, f"{ISSUER}/oidc/token", [f"{ISSUER}/oidc/token", "https://other"]])
def test_audience_may_be_the_token_endpoint_or_the_issuer(rp, jwt_client, clock, aud):
    assert _client_credentials(rp, _assertion(jwt_client, clock, aud=aud)).status_code == 200


def test_a_replayed_jti_is_refused_while_the_assertion_lives(rp, jwt_client, clock):
    assertion = _assertion(jwt_client, clock, exp=epoch(clock.now()) + 120)
    assert _client_credentials(rp, assertion).status_code == 200
    replay = _client_credentials(rp, assertion)
    assert replay.status_code == 401 and replay.get_json()["error"] == "invalid_client"
    assert "WWW-Authenticate" in replay.headers
    # the same jti in a fresh assertion is a replay too
    reused_jti = _assertion(jwt_client, clock, jti=json.loads(_payload(assertion))["jti"])
    assert _client_credentials(rp, reused_jti).status_code == 401


def test_a_jti_used_at_introspection_cannot_be_replayed_at_the_token_endpoint(rp, jwt_client, clock):
    assertion = _assertion(jwt_client, clock, aud=ISSUER)
    first = _client_credentials(rp, assertion, path="introspect", token="whatever")
    assert first.status_code == 200 and first.get_json() == {"active": False}
    assert _client_credentials(rp, assertion).status_code == 401


@pytest.mark.parametrize("overrides", [
    {"aud": "https://elsewhere.example.com/token"},
    {"aud": f"{ISSUER}/"},
    {"aud": None},
    {"iss": "someone-else"},
    {"sub": "someone-else"},
    {"exp": None},
    {"exp": "soon"},
    {"jti": None},
    {"jti": ""},
    {"iat": 3600},  # issued an hour in the future
    {"nbf": 3600},
    {"exp": 24 * 3600},  # unreasonably long-lived
    {"exp": -120},  # expired
])
def test_bad_claims_are_invalid_client(rp, jwt_client, clock, overrides):
    now = epoch(clock.now())
    relative = {k: (now + v if k in ("iat", "nbf", "exp") and isinstance(v, int) else v) for k, v in overrides.items()}
    response = _client_credentials(rp, _assertion(jwt_client, clock, **relative))
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"


def test_an_assertion_signed_by_another_key_is_refused(rp, jwt_client, clock):
    other = RSAKey.generate_key(2048, parameters={"kid": "rp-1"})
    assert _client_credentials(rp, _assertion(jwt_client, clock, signer=other)).status_code == 401


def test_client_id_parameter_must_match_the_assertion(rp, jwt_client, register, clock):
    other = register(name="別アプリ")
    response = _client_credentials(rp, _assertion(jwt_client, clock), client_id=other.client_id)
    assert response.status_code == 401


def test_an_expired_jti_entry_does_not_block_other_assertions(rp, jwt_client, clock):
    assert _client_credentials(rp, _assertion(jwt_client, clock)).status_code == 200
    clock.advance(seconds=300)
    assert _client_credentials(rp, _assertion(jwt_client, clock)).status_code == 200


def _payload(token):
    part = token.split(".")[1]
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode()
