"""Account <-> SCIM User and group <-> SCIM Group (RFC 7643), one mapping for both directions.

The SCIM server (protocols/scim) renders and reads resources with it; the push to apps sends the same
JSON. userName is the login e-mail, User.id the account's subject, Group.id the group row id (always
looked up within the tenant). Our one `name` field is name.formatted and displayName; a request with
only givenName/familyName becomes "family given" (Japanese order). Extension attributes: the
enterprise one (organization, department) and ours (validFrom, validTo, role, sendActivationMail).
"""
import hashlib
from datetime import date

SCHEMA_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
SCHEMA_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
SCHEMA_ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
SCHEMA_ACCOUNT = "urn:matome:params:scim:schemas:extension:account:2.0:User"


def _timestamp(value):
    return value.replace(microsecond=0).isoformat() + "Z" if value else None


def _weak_etag(*parts):
    digest = hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).hexdigest()[:20]
    return f'W/"{digest}"'


def user_version(account):
    """The weak ETag of an account (RFC 7644 §3.14): changes whenever the account is saved."""
    return _weak_etag(account.subject, account.updated_at.isoformat(), account.group_id, account.status)


def group_version(group, members):
    """The weak ETag of a group: its row and its member list."""
    return _weak_etag(group.id, group.name, group.description, *sorted(member.subject for member in members))


def user_resource(account, *, base_url, external_id=None):
    """The SCIM User of an account: core, enterprise extension and ours (sendActivationMail is write-only)."""
    resource = {
        "schemas": [SCHEMA_USER, SCHEMA_ACCOUNT],
        "id": account.subject,
        "userName": account.email,
        "name": {"formatted": account.name},
        "displayName": account.name,
        "active": account.status == "enabled",
        "emails": [{"value": account.email, "type": "work", "primary": True}],
        SCHEMA_ACCOUNT: {"validFrom": account.valid_from.isoformat(),
                         "validTo": account.valid_to.isoformat() if account.valid_to else None,
                         "role": account.role},
        "meta": {"resourceType": "User", "created": _timestamp(account.created_at),
                 "lastModified": _timestamp(account.updated_at), "version": user_version(account),
                 "location": f"{base_url.rstrip('/')}/Users/{account.subject}"},
    }
    phones = [{"value": value, "type": kind} for value, kind in ((account.phone, "work"), (account.mobile, "mobile"))
              if value]
    if phones:
        resource["phoneNumbers"] = phones
    pairs = (("organization", account.organization), ("department", account.department))
    enterprise = {key: value for key, value in pairs if value}
    if enterprise:  # an attribute without a value is left out (RFC 7643 §2.5)
        resource["schemas"].insert(1, SCHEMA_ENTERPRISE)
        resource[SCHEMA_ENTERPRISE] = enterprise
    if account.valid_to is None:
        del resource[SCHEMA_ACCOUNT]["validTo"]
    if external_id:
        resource["externalId"] = external_id
    if account.group is not None:
        resource["groups"] = [{"value": str(account.group_id), "display": account.group.name, "type": "direct",
                               "$ref": f"{base_url.rstrip('/')}/Groups/{account.group_id}"}]
    return resource


def group_resource(group, members, *, base_url="", external_id=None):
    """The SCIM Group of a group (`members`: its accounts). The accounts a write moved in from another group
    are named by the server in a response header (protocols/scim/groups.py), not here."""
    base = base_url.rstrip("/")
    resource = {
        "schemas": [SCHEMA_GROUP],
        "id": str(group.id),
        "displayName": group.name,
        "members": [{"value": member.subject, "type": "User", "$ref": f"{base}/Users/{member.subject}"}
                    for member in members],
        "meta": {"resourceType": "Group", "created": _timestamp(group.created_at),
                 "version": group_version(group, members), "location": f"{base}/Groups/{group.id}"},
    }
    if external_id:
        resource["externalId"] = external_id
    return resource


def _primary(values, kind=None):
    """The value of the primary entry of a multi-valued attribute (else of `kind`, else the first)."""
    values = [item for item in values or () if isinstance(item, dict) and item.get("value")]
    for test in (lambda item: item.get("primary") is True, lambda item: kind and item.get("type") == kind):
        for item in values:
            if test(item):
                return item["value"]
    return values[0]["value"] if values and kind is None else None


def _name_of(resource):
    name = resource.get("name") or {}
    if name.get("formatted"):
        return name["formatted"]
    parts = [name.get("familyName"), name.get("givenName")]
    if any(parts):
        return " ".join(part for part in parts if part)
    return resource.get("displayName") or ""


def _phones(resource):
    numbers = resource.get("phoneNumbers") or []
    typed = {item.get("type"): item.get("value") for item in numbers if isinstance(item, dict)}
    work = typed.get("work") or next((item.get("value") for item in numbers if isinstance(item, dict)
                                      and item.get("type") not in ("work", "mobile")), None)
    return work or "", typed.get("mobile") or ""


def _date(value):
    if value in (None, ""):
        return None
    return date.fromisoformat(str(value)[:10])


def account_values(resource):
    """The account fields a SCIM User (a dict as sent, keys as in RFC 7643) carries.

    Returns {"email", "name", "phone", "mobile", "organization", "department", "status", "role",
    "valid_from", "valid_to", "external_id", "send_activation_mail"}; a date that is not ISO 8601
    raises ValueError (the server answers 400 invalidValue).
    """
    enterprise = resource.get(SCHEMA_ENTERPRISE) or {}
    ours = resource.get(SCHEMA_ACCOUNT) or {}
    phone, mobile = _phones(resource)
    active = resource.get("active", True)
    return {
        "email": (resource.get("userName") or _primary(resource.get("emails")) or "").strip(),
        "name": _name_of(resource).strip(),
        "phone": phone, "mobile": mobile,
        "organization": enterprise.get("organization") or "",
        "department": enterprise.get("department") or "",
        "status": "disabled" if active is False or str(active).lower() == "false" else "enabled",
        "role": ours.get("role") or "user",
        "valid_from": _date(ours.get("validFrom")),
        "valid_to": _date(ours.get("validTo")),
        "external_id": resource.get("externalId"),
        "send_activation_mail": ours.get("sendActivationMail", True) not in (False, "false", "False"),
    }
