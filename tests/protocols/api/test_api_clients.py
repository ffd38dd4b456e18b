"""Marking an OIDC app as an API client: the console's checkbox 「管理APIクライアント」 (create and edit keep
it), `idp app add-oidc --api-client`, and the token endpoint giving admin scopes only to such clients."""
import json

import pytest
from sqlalchemy import select

from conftest import csrf_token_from
from idp.models.oidc import OidcClient
from idp.platform.extensions import db
from tests.protocols.api.conftest import API, Api, request_token
from tests.support.cli_runner import cli, ok_json  # noqa: F401  (cli is a fixture)

FORM = {"name": "人事連携", "redirect_uris": "https://hr.example.com/cb", "client_type": "confidential",
        "id_token_alg": "RS256", "access_token_format": "opaque", "access_token_minutes": "60",
        "id_token_minutes": "60", "refresh_token_days": "30"}


@pytest.fixture
def admin(client, login, acme):
    assert login(email="admin@acme.example.com").status_code == 302
    return client


def is_api_client(app, name):
    with app.app_context():
        return db.session.scalar(select(OidcClient).where(OidcClient.app.has(name=name))).api_client


def post_form(admin, url, data):
    page = admin.get(url)
    assert "管理APIクライアント" in page.get_data(as_text=True)
    return admin.post(url, data={"csrf_token": csrf_token_from(page.get_data(as_text=True)), **data})


def test_console_checkbox_marks_and_unmarks(admin, app):
    created = post_form(admin, "/admin/apps/new/oidc", {**FORM, "api_client": "y"})
    assert created.status_code == 200  # the page with the secret
    assert is_api_client(app, "人事連携") is True
    with app.app_context():
        app_id = db.session.scalar(select(OidcClient.app_id))
    edit = admin.get(f"/admin/apps/{app_id}/edit").get_data(as_text=True)
    assert 'name="api_client" value="y" checked' in edit
    assert post_form(admin, f"/admin/apps/{app_id}/edit", {**FORM, "name": "人事連携"}).status_code == 302
    assert is_api_client(app, "人事連携") is False  # unticked on save


def test_cli_flag(cli, app, client, acme):  # noqa: F811  (the fixture)
    data = ok_json(cli("app", "add-oidc", "--tenant", "acme", "--name", "スクリプト", "--redirect-uri",
                       "https://hr.example.com/cb", "--api-client", "--json"))
    assert is_api_client(app, "スクリプト") is True
    registration = type("Registration", (), {"client_id": data["client_id"], "secret": data["client_secret"]})
    token = request_token(client, registration, "admin:read")
    assert token.status_code == 200 and token.get_json()["scope"] == "admin:read"
    assert Api(client, token.get_json()["access_token"]).get("/accounts").status_code == 200


def test_discovery_does_not_advertise_the_admin_scopes(client, acme):
    """RFC 8414 2 / OIDC Discovery 3: scopes_supported may leave out scopes; these are for API clients only,
    and the OpenAPI document names them."""
    scopes = client.get("/t/acme/.well-known/openid-configuration").get_json()["scopes_supported"]
    assert "admin:read" not in scopes and "openid" in scopes
    flows = client.get(f"{API}/openapi.json").get_json()["components"]["securitySchemes"]["oauth2"]["flows"]
    assert json.dumps(flows).count("admin:") == 2
