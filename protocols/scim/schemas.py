"""The resource models (scim2-models) and what /Schemas, /ResourceTypes, /ServiceProviderConfig publish.

Requests are read with the full RFC 7643 models (plus our extensions), so a client's PATCH of an
attribute we do not keep is harmless; the published schemas list only the attributes we store, with
their real mutability: userName is the login ID (immutable after creation), emails and displayName are
derived from it and from name (readOnly), phoneNumbers are of type work or mobile (RFC 7643 §7).
"""
from typing import Annotated

from scim2_models import (URN, AuthenticationScheme, Bulk, ChangePassword, EnterpriseUser, ETag,
                          Extension, Filter, Group, Mutability, Patch, ResourceType, Returned,
                          ServiceProviderConfig, Sort, User)

from idp.provisioning import scim_mapping
from idp.provisioning.scim_query import MAX_RESULTS


class MatomeAccount(Extension):
    """Our account attributes: validity dates (YYYY-MM-DD, Japan), role, and whether to send the activation mail."""

    __schema__ = URN(scim_mapping.SCHEMA_ACCOUNT)

    valid_from: str | None = None
    """First day the account may log in (YYYY-MM-DD); default: the day of creation."""

    valid_to: str | None = None
    """Last day the account may log in (YYYY-MM-DD); none: no end."""

    role: str | None = None
    """user or admin."""

    send_activation_mail: Annotated[bool | None, Mutability.write_only, Returned.never] = None
    """On creation: false sends no activation mail (default true)."""


UserModel = User[EnterpriseUser | MatomeAccount]
GroupModel = Group

RO, IMMUTABLE = {"mutability": "readOnly"}, {"mutability": "immutable"}
USER_ATTRIBUTES = {
    "userName": {**IMMUTABLE, "description": "The login ID: an e-mail address. It cannot be changed."},
    "name": {"required": True, "sub": {"formatted": {"required": True}},
             "description": "formatted is the name; a request with only givenName and familyName is stored as "
                            "\"familyName givenName\"."},
    "displayName": {**RO, "description": "The name (name.formatted)."},
    "active": {"required": True, "description": "Whether the account is enabled (absent on creation: true)."},
    "emails": {**RO, "sub": {"value": RO, "type": RO, "primary": RO},
               "description": "The login ID (userName) as the one work address."},
    "phoneNumbers": {"sub": {"value": {}, "type": {"canonicalValues": ["work", "mobile"]}}},
    "groups": {"sub": {"value": {}, "$ref": {"referenceTypes": ["Group"]}, "display": {}, "type": {}}},
}
ENTERPRISE_ATTRIBUTES = {"organization": {}, "department": {}}
ROLE = {"canonicalValues": ["user", "admin"]}
REQUIRED = {"required": True}
ACCOUNT_ATTRIBUTES = {"validFrom": {**REQUIRED, "description": "YYYY-MM-DD (absent on creation: today in Japan)."},
                      "validTo": {"description": "YYYY-MM-DD, or none."},
                      "role": {**ROLE, **REQUIRED, "description": "user or admin (absent on creation: user)."},
                      "sendActivationMail": {}}
GROUP_ATTRIBUTES = {"displayName": {}, "members": {"sub": {
    "value": {}, "$ref": {"referenceTypes": ["User"]}, "type": {"canonicalValues": ["User"]}}}}


def _only(attributes, spec):
    kept = []
    for attribute in attributes:
        wanted = spec.get(attribute["name"])
        if wanted is None:
            continue
        sub = wanted.get("sub")
        attribute = {**attribute, **{key: value for key, value in wanted.items() if key != "sub"}}
        if sub is not None:
            attribute["subAttributes"] = _only(attribute.get("subAttributes") or [], sub)
        kept.append(attribute)
    return kept


def _schema(model, spec, base_url):
    document = model.to_schema().model_dump(mode="json", exclude_none=True)
    document["attributes"] = _only(document["attributes"], spec)
    document["meta"] = {"resourceType": "Schema", "location": f"{base_url}/Schemas/{document['id']}"}
    return document


def schemas(base_url):
    """Every published Schema (RFC 7643 §7), as JSON."""
    return [_schema(User, USER_ATTRIBUTES, base_url), _schema(EnterpriseUser, ENTERPRISE_ATTRIBUTES, base_url),
            _schema(MatomeAccount, ACCOUNT_ATTRIBUTES, base_url), _schema(Group, GROUP_ATTRIBUTES, base_url)]


def resource_types(base_url):
    """The User and Group ResourceTypes (RFC 7643 §6), as JSON."""
    found = []
    for model in (UserModel, GroupModel):
        document = ResourceType.from_resource(model).model_dump(mode="json", exclude_none=True)
        for extension in document.get("schemaExtensions", []):
            extension["required"] = extension["schema"] == scim_mapping.SCHEMA_ACCOUNT  # always in a User
        document["meta"] = {"resourceType": "ResourceType", "location": f"{base_url}/ResourceTypes/{document['id']}"}
        found.append(document)
    return found


def service_provider_config(base_url):
    """What the server supports (RFC 7643 §5): PATCH, filter, sort, ETag; no bulk, no password change."""
    config = ServiceProviderConfig(
        patch=Patch(supported=True), bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS), change_password=ChangePassword(supported=False),
        sort=Sort(supported=True), etag=ETag(supported=True),
        authentication_schemes=[AuthenticationScheme(
            type="oauthbearertoken", name="Bearer token", primary=True,
            description="A token made in the admin console (設定 › SCIMトークン) or by `idp scim token create`.")])
    document = config.model_dump(mode="json", exclude_none=True)
    document["meta"] = {"resourceType": "ServiceProviderConfig", "location": f"{base_url}/ServiceProviderConfig"}
    return document
