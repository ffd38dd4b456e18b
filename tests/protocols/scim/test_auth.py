"""Bearer tokens at the SCIM endpoint: who gets in, who is refused (401/403/429), tenant isolation."""
import pytest
from sqlalchemy import select

from idp.logs.audit import OPERATOR
from idp.models.scim import ScimToken
from idp.platform.extensions import db
from idp.provisioning import scim_tokens
from idp.tenancy import tenants
from tests.protocols.scim.conftest import SCIM_JSON, ScimClient, make_token


def _error(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == SCIM_JSON
    body = response.get_json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"] and body["status"] == str(status)
    return body


@pytest.mark.parametrize("header", [None, "Bearer ", "Bearer scim_wrong", "Basic dXNlcjpwYXNz", "scim_x"])
def test_missing_or_unknown_token_is_401_with_www_authenticate(client, scim, header):
    headers = {"Authorization": header} if header is not None else {}
    response = client.get("/t/acme/scim/v2/Users", headers=headers)
    _error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_of_another_tenant_and_an_unknown_tenant_are_401_alike(app, client, factory, clock, scim):
    factory.tenant("beta", company="Beta株式会社")
    beta = ScimClient(client, make_token(app, clock, "beta"), base="/t/beta/scim/v2")
    beta.create_user("secret@beta.example.com")
    _error(scim.get("/Users", token=beta.token), 401)
    _error(beta.get("/Users", token=scim.token), 401)
    _error(ScimClient(client, scim.token, base="/t/nobody/scim/v2").get("/Users"), 401)
    listed = scim.get("/Users?count=200").get_json()["Resources"]
    assert "secret@beta.example.com" not in [user["userName"] for user in listed]


def test_revoked_and_expired_tokens_are_refused(app, client, clock, scim):
    assert scim.get("/Users").status_code == 200
    expiring = ScimClient(client, make_token(app, clock, expires_days=1))
    assert expiring.get("/Users").status_code == 200
    clock.advance(days=1, seconds=1)
    _error(expiring.get("/Users"), 401)
    with app.app_context():
        tenant = tenants.get_by_slug("acme")
        token = db.session.scalar(select(ScimToken).where(ScimToken.name == "Entra ID",
                                                          ScimToken.expires_at.is_(None)))
        scim_tokens.revoke_token(tenant, token.id, now=clock.now(), actor=OPERATOR)
        db.session.commit()
    _error(scim.get("/Users"), 401)


def test_a_read_token_reads_but_may_not_write(app, client, clock, scim):
    reader = ScimClient(client, make_token(app, clock, scope="read", name="監査"))
    assert reader.get("/Users").status_code == 200
    body = _error(reader.post("/Users", {"userName": "x@acme.example.com", "name": {"formatted": "x"}}), 403)
    assert "読み取り専用" in body["detail"]
    assert scim.get("/Users?filter=userName eq \"x@acme.example.com\"").get_json()["totalResults"] == 0


def test_only_a_digest_is_stored_and_last_use_is_recorded(app, clock, scim):
    with app.app_context():
        row = db.session.scalar(select(ScimToken))
        assert row.token_hash != scim.token and scim.token not in row.token_hash and row.last_used_at is None
    clock.advance(minutes=5)
    scim.get("/Users")
    with app.app_context():
        assert db.session.scalar(select(ScimToken)).last_used_at == clock.now()


def test_responses_are_scim_json_and_unknown_paths_a_scim_404(scim):
    assert scim.get("/ServiceProviderConfig").mimetype == SCIM_JSON
    _error(scim.get("/Nothing/here"), 404)
    _error(scim.post("/ServiceProviderConfig", {}), 405)
    _error(scim.call("POST", "/Users", None, headers={"Content-Type": SCIM_JSON}), 400)
