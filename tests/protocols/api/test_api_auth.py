"""Who may call the admin API: client_credentials tokens of the tenant's own issuer for API clients, with
admin:read (GET) or admin:write (everything); 401 with WWW-Authenticate, 403 insufficient_scope (429 per
client: test_api_ratelimit.py)."""
from tests.protocols.api.conftest import API, Api, problem, request_token


def test_no_token_is_401_with_a_bearer_challenge(client, api_client):
    response = client.get(f"{API}/accounts")
    body = problem(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "access token" in body["detail"]
    basic = client.get(f"{API}/accounts", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert problem(basic, 401) and basic.headers["WWW-Authenticate"] == "Bearer"


def test_unknown_token_is_invalid_token(client, api_client):
    response = Api(client, "not-a-token").get("/accounts")
    problem(response, 401)
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_read_token_reads_but_does_not_write(reader):
    assert reader.get("/accounts").status_code == 200
    response = reader.post("/groups", json={"name": "営業"})
    body = problem(response, 403)
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    assert 'scope="admin:write"' in response.headers["WWW-Authenticate"]
    assert body["type"].endswith("insufficient_scope")
    assert reader.get("/groups").get_json()["total"] == 1  # nothing was created


def test_write_token_also_reads(api):
    assert api.get("/groups").status_code == 200


def test_a_token_of_another_tenant_is_unknown_here(client, factory, acme, register_client, token_for):
    factory.tenant("globex")
    other = register_client("globex")
    token = token_for(other, "admin:write", slug="globex")
    assert Api(client, token, "globex").get("/accounts").status_code == 200
    response = Api(client, token).get("/accounts")
    problem(response, 401)
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_an_expired_token_is_refused(api, clock):
    assert api.get("/accounts").status_code == 200
    clock.advance(hours=1, seconds=1)
    problem(api.get("/accounts"), 401)


def test_a_revoked_token_is_refused(client, api, api_client):
    assert api.get("/accounts").status_code == 200
    client.post("/t/acme/oidc/revoke", data={"token": api.token},
                auth=(api_client.client_id, api_client.secret))
    problem(api.get("/accounts"), 401)


def test_jwt_access_tokens_work_too(client, acme, register_client, token_for):
    jwt_client = register_client(name="JWT連携", access_token_format="jwt")
    token = token_for(jwt_client)
    assert token.count(".") == 2
    assert Api(client, token).get("/accounts").get_json()["total"] == 2


def test_a_client_that_is_no_api_client_gets_no_admin_scope(client, acme, register_client):
    plain = register_client(name="経費精算", api_client=False)
    response = request_token(client, plain, "admin:read")
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_scope"
    other_scopes = request_token(client, plain, "reports")
    assert other_scopes.status_code == 200  # other scopes as before
    refused = Api(client, other_scopes.get_json()["access_token"]).get("/accounts")
    problem(refused, 403)
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]


def test_a_token_without_admin_scope_of_an_api_client_is_refused(client, api_client, token_for):
    problem(Api(client, token_for(api_client, "")).get("/accounts"), 403)


def test_taking_the_mark_away_stops_the_tokens_already_issued(app, api, api_client):
    from sqlalchemy import update

    from idp.models.oidc import OidcClient
    from idp.platform.extensions import db
    with app.app_context():
        db.session.execute(update(OidcClient).where(OidcClient.client_id == api_client.client_id)
                           .values(api_client=False))
        db.session.commit()
    problem(api.get("/accounts"), 403)


def test_an_unknown_tenant_is_404_problem(api):
    response = api.http.get("/t/nobody/api/v1/accounts", headers={"Authorization": f"Bearer {api.token}"})
    problem(response, 404)
