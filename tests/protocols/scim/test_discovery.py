"""ServiceProviderConfig, ResourceTypes and Schemas say what works, and only that."""


def test_service_provider_config_advertises_what_is_implemented(scim):
    config = scim.get("/ServiceProviderConfig").get_json()
    assert config["patch"]["supported"] and config["filter"]["supported"] and config["sort"]["supported"]
    assert config["etag"]["supported"]
    assert not config["bulk"]["supported"] and not config["changePassword"]["supported"]
    assert config["authenticationSchemes"][0]["type"] == "oauthbearertoken"


def test_resource_types_and_schemas(scim):
    types = {t["id"]: t for t in scim.get("/ResourceTypes").get_json()["Resources"]}
    assert types["User"]["endpoint"] == "/Users" and types["Group"]["endpoint"] == "/Groups"
    schemas = {s["id"]: s for s in scim.get("/Schemas").get_json()["Resources"]}
    user = {a["name"]: a for a in schemas["urn:ietf:params:scim:schemas:core:2.0:User"]["attributes"]}
    assert user["userName"]["mutability"] == "immutable" and user["emails"]["mutability"] == "readOnly"
    assert "password" not in user and "addresses" not in user
    ours = schemas["urn:matome:params:scim:schemas:extension:account:2.0:User"]["attributes"]
    assert {a["name"]: a["mutability"] for a in ours}["sendActivationMail"] == "writeOnly"
    one = scim.get("/Schemas/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User").get_json()
    assert {a["name"] for a in one["attributes"]} == {"organization", "department"}
    assert scim.get("/ResourceTypes/Group").get_json()["schema"] == "urn:ietf:params:scim:schemas:core:2.0:Group"
