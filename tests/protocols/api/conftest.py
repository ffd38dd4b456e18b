"""Admin API fixtures: the tenant acme with taro, an API client registered through the services, access
tokens fetched from the tenant's token endpoint over HTTP (client_credentials), and a client for the API."""
import base64
from types import SimpleNamespace

import pytest

from idp.logs.audit import OPERATOR
from idp.oidc import clients as oidc_clients
from idp.platform.extensions import db
from idp.tenancy import tenants

API = "/t/acme/api/v1"


@pytest.fixture
def acme(factory):
    factory.tenant("acme")
    factory.account("acme")
    return "acme"


@pytest.fixture
def register_client(app, clock):
    """register_client(slug="acme", name="人事システム連携", api_client=True, **settings) -> client_id, secret, app_id."""
    def _register(slug="acme", name="人事システム連携", api_client=True, **settings):
        with app.app_context():
            created = oidc_clients.register(
                tenants.get_by_slug(slug), oidc_clients.ClientSettings(
                    name=name, redirect_uris=["https://hr.example.com/cb"], api_client=api_client, **settings),
                now=clock.now(), actor=OPERATOR)
            db.session.commit()
            return SimpleNamespace(client_id=created.client.client_id, secret=created.client_secret,
                                   app_id=created.app.id)
    return _register


@pytest.fixture
def api_client(acme, register_client):
    return register_client()


def request_token(http, registration, scope, slug="acme"):
    """The token endpoint's response to a client_credentials request."""
    auth = base64.b64encode(f"{registration.client_id}:{registration.secret}".encode()).decode()
    return http.post(f"/t/{slug}/oidc/token", data={"grant_type": "client_credentials", "scope": scope},
                     headers={"Authorization": f"Basic {auth}"})


@pytest.fixture
def token_for(client):
    def _token(registration, scope="admin:write", slug="acme"):
        response = request_token(client, registration, scope, slug)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()["access_token"]
    return _token


class Api:
    """The test client speaking to /t/<slug>/api/v1 with a bearer token."""

    def __init__(self, http, token, slug="acme"):
        self.http, self.token, self.base = http, token, f"/t/{slug}/api/v1"

    def call(self, method, path, token=None, **kwargs):
        headers = dict(kwargs.pop("headers", {}))
        token = self.token if token is None else token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.http.open(self.base + path, method=method, headers=headers, **kwargs)

    def get(self, path, **kwargs):
        return self.call("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.call("POST", path, **kwargs)

    def patch(self, path, **kwargs):
        return self.call("PATCH", path, **kwargs)

    def delete(self, path, **kwargs):
        return self.call("DELETE", path, **kwargs)


@pytest.fixture
def api(client, api_client, token_for):
    """The API with an admin:write token of acme's API client."""
    return Api(client, token_for(api_client, "admin:write"))


@pytest.fixture
def reader(client, api_client, token_for):
    """The API with an admin:read token of the same client."""
    return Api(client, token_for(api_client, "admin:read"))


def problem(response, status):
    """The response is an RFC 9457 problem with this status; returns its body."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert body["status"] == status and body["title"] and body["type"]
    return body
