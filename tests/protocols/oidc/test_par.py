"""Pushed Authorization Requests (RFC 9126) over HTTP: push at /oidc/par with client authentication,
then the browser brings client_id + request_uri to /oidc/authorize; the RFC's negative cases (a used,
expired or foreign request_uri, bad client authentication, request_uri inside a push, an unregistered
redirect_uri) and the per-client "PAR required"."""
import base64
import json
import uuid
from types import SimpleNamespace
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from idp.models.oidc import OidcPushedRequest
from idp.platform.extensions import db
from tests.protocols.oidc.conftest import ISSUER, REDIRECT_URI, epoch, json_of, pkce_pair

PAR_PATH = "/t/acme/oidc/par"
EXPIRED_OR_USED = "ログイン要求の有効期限が切れたか、すでに使用されています。"


def _basic(registration, secret=None):
    raw = f"{registration.client_id}:{secret or registration.client_secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def push(client, registration, auth="basic", **params):
    data = {"response_type": "code", "redirect_uri": REDIRECT_URI, "scope": "openid profile email",
            "state": "st-1", "nonce": "n-par", **params}
    data = {k: v for k, v in data.items() if v is not None}
    headers = {}
    if auth == "basic":
        headers = _basic(registration)
    elif auth == "post":
        data.update(client_id=registration.client_id, client_secret=registration.client_secret)
    elif auth == "none":
        data["client_id"] = registration.client_id
    return client.post(PAR_PATH, data=data, headers=headers)


def request_uri_of(response):
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    return response.get_json()["request_uri"]


def authorize_pushed(client, registration, request_uri):
    query = urlencode({"client_id": registration.client_id, "request_uri": request_uri})
    return client.get(f"/t/acme/oidc/authorize?{query}")


def log_in_from(client, login, first):
    """The login the authorization endpoint asked for, and the way back to it."""
    assert first.status_code == 302 and "/login?" in first.headers["Location"], first.get_data(as_text=True)[:300]
    next_url = parse_qs(urlsplit(first.headers["Location"]).query)["next"][0]
    posted = login(next_url=next_url)
    assert posted.status_code == 302
    return client.get(posted.headers["Location"])


def pushed_rows(app):
    with app.app_context():
        return db.session.scalars(select(OidcPushedRequest)).all()


def assert_error_page(response):
    assert response.status_code == 400 and "Location" not in response.headers
    assert EXPIRED_OR_USED in response.get_data(as_text=True)


def test_discovery_names_the_par_endpoint(client, acme):
    doc = client.get("/t/acme/.well-known/openid-configuration").get_json()
    assert doc["pushed_authorization_request_endpoint"] == f"{ISSUER}/oidc/par"
    assert doc["require_pushed_authorization_requests"] is False


def test_pushed_request_then_authorize_then_token(client, rp, rp_client, login):
    pushed = push(client, rp_client)
    assert pushed.status_code == 201 and pushed.headers["Cache-Control"] == "no-store"
    body = pushed.get_json()
    assert body["expires_in"] == 60 and body["request_uri"].startswith("urn:ietf:params:oauth:request_uri:")
    back = log_in_from(client, login, authorize_pushed(client, rp_client, body["request_uri"]))
    tokens = rp.exchange(rp_client, rp.code_from(back)).get_json()
    id_token = rp.verify(tokens["id_token"], rp_client.client_id).claims
    assert id_token["nonce"] == "n-par"  # the pushed parameters were used
    assert rp.http.get("/t/acme/oidc/userinfo", headers={
        "Authorization": f"Bearer {tokens['access_token']}"}).get_json()["email"] == "taro@acme.example.com"


def test_the_login_may_outlast_the_request_uri_but_not_reuse_it(client, rp, rp_client, login, clock):
    """The request_uri is spent when the browser first brings it; the login's return URL carries the
    signed id of the spent request (not the parameters), so a login longer than 60 s still completes."""
    request_uri = request_uri_of(push(client, rp_client, auth="post", login_hint="taro@acme.example.com"))
    first = authorize_pushed(client, rp_client, request_uri)
    login_query = parse_qs(urlsplit(first.headers["Location"]).query)
    assert login_query["login_hint"] == ["taro@acme.example.com"]  # the login form is pre-filled
    assert "n-par" not in login_query["next"][0] and "redirect_uri" not in login_query["next"][0]
    clock.advance(seconds=120)
    back = log_in_from(client, login, first)
    assert rp.exchange(rp_client, rp.code_from(back)).status_code == 200
    assert_error_page(authorize_pushed(client, rp_client, request_uri))


def test_a_reused_request_uri_gets_an_error_page(app, client, rp, rp_client):
    rp.full_login(rp_client)  # signed in: the pushed request is answered at once
    request_uri = request_uri_of(push(client, rp_client))
    rp.code_from(authorize_pushed(client, rp_client, request_uri))
    assert_error_page(authorize_pushed(client, rp_client, request_uri))
    [used] = pushed_rows(app)
    assert used.used_at is not None and used.client_pk and request_uri not in used.request_uri_hash


def test_an_expired_request_uri_gets_an_error_page(client, rp, rp_client, clock):
    rp.full_login(rp_client)
    request_uri = request_uri_of(push(client, rp_client))
    clock.advance(seconds=61)
    assert_error_page(authorize_pushed(client, rp_client, request_uri))


def test_expired_pushed_requests_are_purged_at_a_later_push(app, client, rp_client, clock):
    """Kept an hour past expiry (a login under way may resume a spent one), then deleted."""
    request_uri_of(push(client, rp_client))
    clock.advance(seconds=61)
    request_uri_of(push(client, rp_client))
    assert len(pushed_rows(app)) == 2
    clock.advance(hours=1)
    request_uri_of(push(client, rp_client))
    assert len(pushed_rows(app)) == 2


def test_a_request_uri_of_another_client_is_refused_and_not_spent(client, rp, rp_client, register):
    other = register(name="勤怠")
    rp.full_login(rp_client)
    request_uri = request_uri_of(push(client, rp_client))
    assert_error_page(authorize_pushed(client, other, request_uri))
    assert_error_page(authorize_pushed(client, rp_client, "urn:ietf:params:oauth:request_uri:made-up"))
    rp.code_from(authorize_pushed(client, rp_client, request_uri))  # its own client still can


def test_a_login_that_takes_over_an_hour_starts_again(client, rp_client, login, clock):
    first = authorize_pushed(client, rp_client, request_uri_of(push(client, rp_client)))
    clock.advance(hours=1, seconds=1)
    back = log_in_from(client, login, first)
    assert back.status_code == 400 and "Location" not in back.headers
    assert "ログイン要求の有効期限が切れました。" in back.get_data(as_text=True)


def test_tampered_parameters_in_the_return_url_are_refused(client, rp_client):
    request_uri = request_uri_of(push(client, rp_client))
    first = authorize_pushed(client, rp_client, request_uri)
    next_url = parse_qs(urlsplit(first.headers["Location"]).query)["next"][0]
    forged = next_url.replace("_par=", "_par=x")
    response = client.get(forged)
    assert response.status_code == 400 and "Location" not in response.headers


@pytest.mark.parametrize("auth", ["none", "basic-wrong", "post-wrong"])  # none: a confidential client, no secret
def test_unauthenticated_or_wrongly_authenticated_push_is_401(app, client, rp_client, auth):
    if auth == "none":
        response = push(client, rp_client, auth="none")
    elif auth == "basic-wrong":
        response = client.post(PAR_PATH, data={"response_type": "code", "redirect_uri": REDIRECT_URI,
                                               "scope": "openid"}, headers=_basic(rp_client, "wrong-secret"))
    else:
        response = push(client, rp_client, auth=None, client_id=rp_client.client_id, client_secret="wrong")
    assert response.status_code == 401 and json_of(response)["error"] == "invalid_client"
    assert pushed_rows(app) == []


@pytest.mark.sqlite_only  # the parameter checks are the same on either database (single use: both)
@pytest.mark.parametrize("params, error", [
    ({"request_uri": "urn:ietf:params:oauth:request_uri:abc"}, "invalid_request"),
    ({"redirect_uri": "https://evil.example.com/callback"}, "invalid_request"),
    ({"redirect_uri": None}, "invalid_request"),
    ({"scope": "profile"}, "invalid_scope"),
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported"),
    ({"code_challenge": "short", "code_challenge_method": "S256"}, "invalid_request"),
])
def test_a_bad_push_is_a_400_json_error_never_a_redirect(app, client, rp_client, params, error):
    response = push(client, rp_client, **params)
    assert response.status_code == 400 and "Location" not in response.headers
    assert json_of(response)["error"] == error and response.headers["Cache-Control"] == "no-store"
    assert "state" not in json_of(response)
    assert pushed_rows(app) == []


def test_a_public_client_pushes_with_its_client_id_and_pkce(client, rp, register, acme, login):
    spa = register(public=True)
    verifier, challenge = pkce_pair()
    assert json_of(push(client, spa, auth="none"))["error"] == "invalid_request"  # PKCE is required
    request_uri = request_uri_of(push(client, spa, auth="none", code_challenge=challenge,
                                      code_challenge_method="S256"))
    code = rp.code_from(log_in_from(client, login, authorize_pushed(client, spa, request_uri)))
    assert rp.exchange(spa, code, auth="none", code_verifier=verifier).status_code == 200


def test_a_client_requiring_par_cannot_send_a_plain_request(client, rp, register, acme, login):
    strict = register(require_par=True)
    rp.full_login(register())  # signed in, so only the PAR rule stands between the request and a code
    plain = rp.authorize(strict)
    location = plain.headers["Location"]
    assert plain.status_code == 302 and location.startswith(REDIRECT_URI + "?")
    assert parse_qs(urlsplit(location).query)["error"] == ["invalid_request"] and "code=" not in location
    request_uri = request_uri_of(push(client, strict))
    assert rp.exchange(strict, rp.code_from(authorize_pushed(client, strict, request_uri))).status_code == 200


def test_par_stays_optional_for_other_clients(client, rp, rp_client):
    assert rp.full_login(rp_client).status_code == 200  # a plain request
    request_uri = request_uri_of(push(client, rp_client))
    assert rp.code_from(authorize_pushed(client, rp_client, request_uri))


@pytest.mark.parametrize("aud", [f"{ISSUER}/oidc/par", ISSUER, f"{ISSUER}/oidc/token"])
def test_private_key_jwt_names_the_par_endpoint_token_endpoint_or_issuer(client, register, acme, clock, aud):
    """RFC 9126 2: the issuer, the token endpoint and the PAR endpoint are all accepted as `aud`."""
    key = RSAKey.generate_key(2048, parameters={"kid": "rp-1", "alg": "RS256"})
    registration = register(jwks=json.dumps({"keys": [key.as_dict(private=False)]}))
    now = epoch(clock.now())
    claims = {"iss": registration.client_id, "sub": registration.client_id, "aud": aud, "jti": str(uuid.uuid4()),
              "iat": now, "exp": now + 60}
    assertion = jwt.encode({"alg": "RS256", "kid": "rp-1"}, claims, key)
    pushed = push(client, registration, auth=None, client_assertion=assertion,
                  client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    assert request_uri_of(pushed).startswith("urn:ietf:params:oauth:request_uri:")
    replayed = push(client, registration, auth=None, client_assertion=assertion,
                    client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    assert replayed.status_code == 401 and json_of(replayed)["error"] == "invalid_client"


def test_cli_registers_a_client_that_requires_par(app, client, rp, acme):
    result = app.test_cli_runner().invoke(args=[
        "app", "add-oidc", "--tenant", "acme", "--name", "経費精算", "--redirect-uri", REDIRECT_URI,
        "--require-par", "--json"])
    assert result.exit_code == 0, result.output
    registration = SimpleNamespace(**json.loads(result.output))
    plain = rp.authorize(registration)
    assert parse_qs(urlsplit(plain.headers["Location"]).query)["error"] == ["invalid_request"]
    assert request_uri_of(push(client, registration))


@pytest.mark.parametrize("query", [
    {"request_uri": "urn:ietf:params:oauth:request_uri:" + "x" * 5000},
    {"request_uri": "urn:ietf:params:oauth:request_uri:\x00"},
    {"_par": "garbage"},
    {"_par": ""},
    {"_par": "eyJ0IjoxLCJyIjoxfQ.bad.signature"},
])
def test_odd_values_at_the_authorization_endpoint_are_an_error_page(client, rp_client, query):
    response = client.get("/t/acme/oidc/authorize?" + urlencode({"client_id": rp_client.client_id, **query}))
    assert response.status_code == 400 and "Location" not in response.headers


@pytest.mark.parametrize("data", [
    {"response_type": "code", "redirect_uri": REDIRECT_URI, "scope": "openid", "nonce": "n" * 501},
    {"response_type": "\x00", "redirect_uri": REDIRECT_URI, "scope": "openid"},
    {"response_type": "code", "redirect_uri": REDIRECT_URI, "scope": "openid", "claims": "[1"},
    {"response_type": "code", "redirect_uri": REDIRECT_URI, "scope": "openid", "max_age": "-1"},
    {"response_type": "code", "redirect_uri": REDIRECT_URI, "scope": "openid", "id_token_hint": "x.y.z"},
])
def test_odd_pushed_parameters_are_a_400(client, rp_client, data):
    response = client.post(PAR_PATH, data=data, headers=_basic(rp_client))
    assert response.status_code == 400 and json_of(response)["error"] in ("invalid_request",
                                                                          "unsupported_response_type")


def test_a_repeated_parameter_in_a_push_is_refused(client, rp_client):
    data = MultiDict([("response_type", "code"), ("scope", "openid"), ("scope", "email"),
                      ("redirect_uri", REDIRECT_URI)])
    response = client.post(PAR_PATH, data=data, headers=_basic(rp_client))
    assert response.status_code == 400 and json_of(response)["error"] == "invalid_request"
