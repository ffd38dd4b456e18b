"""SCIM fixtures: tenant `acme` (and `beta`) with bearer tokens, and a client that speaks application/scim+json."""
import json
from types import SimpleNamespace

import pytest

from idp.logs.audit import OPERATOR
from idp.platform.extensions import db
from idp.provisioning import scim_tokens
from idp.tenancy import tenants

BASE = "/t/acme/scim/v2"
SCIM_JSON = "application/scim+json"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ACCOUNT_EXT = "urn:matome:params:scim:schemas:extension:account:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
MOVES_EXT = "urn:matome:params:scim:schemas:extension:group:2.0:Group"


def make_token(app, clock, slug="acme", *, scope="write", name="Entra ID", expires_days=None):
    with app.app_context():
        tenant = tenants.get_by_slug(slug)
        _token, raw = scim_tokens.create_token(tenant, name=name, scope=scope, expires_days=expires_days,
                                               now=clock.now(), actor=OPERATOR)
        db.session.commit()
        return raw


class ScimClient:
    """The Flask test client with the token's Authorization header and SCIM JSON bodies."""

    def __init__(self, client, token, base=BASE):
        self.client, self.token, self.base = client, token, base

    def call(self, method, path, body=None, headers=None, token=None):
        headers = {"Authorization": f"Bearer {token or self.token}", **(headers or {})}
        data = json.dumps(body) if body is not None else None
        return self.client.open(self.base + path, method=method, data=data, headers=headers,
                                content_type=SCIM_JSON if data is not None else None)

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.call("POST", path, body, **kw)

    def put(self, path, body, **kw):
        return self.call("PUT", path, body, **kw)

    def patch(self, path, operations, **kw):
        return self.call("PATCH", path, {"schemas": [PATCH_SCHEMA], "Operations": operations}, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)

    def create_user(self, email, name="山田 太郎", **extra):
        response = self.post("/Users", {"schemas": [USER_SCHEMA], "userName": email, "name": {"formatted": name},
                                        **extra})
        assert response.status_code == 201, response.get_json()
        return response.get_json()


@pytest.fixture
def scim(app, client, factory, clock):
    factory.tenant("acme")
    return ScimClient(client, make_token(app, clock))


def new_user(email, name="山田 太郎", **extra):
    return {"schemas": [USER_SCHEMA], "userName": email, "name": {"formatted": name}, **extra}


@pytest.fixture
def people():
    return SimpleNamespace(hanako="hanako@acme.example.com", jiro="jiro@acme.example.com")
