"""The OpenAPI 3.1 document of a tenant's API: generated from the views, made the tenant's (servers, token
URL, scopes per operation), errors as application/problem+json. tests/protocols/api/test_api_schemathesis.py
runs schemathesis against it."""
from tests.protocols.api.conftest import API


def test_the_document_is_the_tenants(client, acme):
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    doc = response.get_json()
    assert doc["openapi"] == "3.1.0"
    assert doc["servers"][0]["url"] == "http://127.0.0.1:8000/t/acme/api/v1"
    flow = doc["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "http://127.0.0.1:8000/t/acme/oidc/token"
    assert set(flow["scopes"]) == {"admin:read", "admin:write"}
    assert doc["paths"]["/accounts"]["get"]["security"] == [{"oauth2": ["admin:read"]}]
    assert doc["paths"]["/accounts"]["post"]["security"] == [{"oauth2": ["admin:write"]}]
    assert set(doc["paths"]) >= {"/accounts", "/accounts/{account_id}", "/accounts/{account_id}/unlock",
                                 "/accounts/{account_id}/mfa-reset", "/accounts/{account_id}/activation-mail",
                                 "/groups", "/groups/{group_id}", "/groups/{group_id}/members",
                                 "/groups/{group_id}/members/{account_id}", "/apps", "/apps/{app_id}",
                                 "/logs/logins", "/logs/audit"}
    unprocessable = doc["paths"]["/accounts"]["post"]["responses"]["422"]["content"]
    assert list(unprocessable) == ["application/problem+json"]
    assert client.get("/t/nobody/api/v1/openapi.json").status_code == 404
