"""What is pushed to an app's SCIM server, and how its user is found (idp.provisioning.scim_client).

The User sent is our one mapping (scim_mapping.user_resource) without what the app's server owns or does
not know: `id`, `meta`, `groups` (read-only) and our own extension; `externalId` is the account's subject,
so the app's user stays matched when the address changes. A user is found by the id kept after a
create (provisioning_remote_ids), else by `externalId eq`, else by `userName eq`; a create answered 409 is
looked up by userName and replaced.
"""
import json

from sqlalchemy import delete, insert, select

from idp.models.provisioning import DELETE, ProvisioningRemoteId
from idp.platform.extensions import db
from idp.provisioning.scim_client import Conflict, NotFound
from idp.provisioning.scim_mapping import SCHEMA_ACCOUNT, user_resource

_REMOTE = ProvisioningRemoteId.__table__


def outbound_resource(account):
    resource = user_resource(account, base_url="")
    for key in ("id", "meta", "groups", SCHEMA_ACCOUNT):
        resource.pop(key, None)
    resource["schemas"] = [schema for schema in resource["schemas"] if schema != SCHEMA_ACCOUNT]
    resource["externalId"] = account.subject
    return resource


def snapshot(subject, email):
    """What finds the app's user once the account is gone (a deprovision row's payload)."""
    return json.dumps({"userName": email, "externalId": subject})


# --- remote ids ---------------------------------------------------------------------------------

def remote_id(app_id, subject):
    with db.engine.connect() as connection:
        return connection.execute(select(_REMOTE.c.remote_id).where(
            _REMOTE.c.app_id == app_id, _REMOTE.c.subject == subject)).scalar()


def remote_ids(app_id):
    """{subject: remote id} of an app."""
    with db.engine.connect() as connection:
        return dict(connection.execute(select(_REMOTE.c.subject, _REMOTE.c.remote_id)
                                       .where(_REMOTE.c.app_id == app_id)).all())


def keep_remote_id(target, subject, value):
    with db.engine.begin() as connection:
        connection.execute(delete(_REMOTE).where(_REMOTE.c.app_id == target.app_id, _REMOTE.c.subject == subject))
        if value:
            connection.execute(insert(_REMOTE).values(app_id=target.app_id, subject=subject,
                                                      tenant_id=target.tenant_id, remote_id=str(value)[:255]))


# --- the operations -----------------------------------------------------------------------------

def find_remote(client, target, subject, user_name):
    """The app's id of the user of `subject`/`user_name`, or None."""
    kept = remote_id(target.app_id, subject)
    if kept:
        return kept
    for attribute, value in (("externalId", subject), ("userName", user_name)):
        if value:
            found = client.find_user(attribute, value)
            if found and found.get("id"):
                return str(found["id"])
    return None


def upsert(client, target, account):
    """Create or replace the app's user of `account`; returns "created" or "updated"."""
    resource = outbound_resource(account)
    found = find_remote(client, target, account.subject, account.email)
    if found:
        try:
            client.replace_user(found, resource)
            keep_remote_id(target, account.subject, found)
            return "updated"
        except NotFound:  # deleted on the app's side: create it again
            keep_remote_id(target, account.subject, None)
    try:
        created = client.create_user(resource) or {}
        keep_remote_id(target, account.subject, created.get("id"))
        return "created"
    except Conflict:
        existing = client.find_user("userName", account.email)
        if not existing or not existing.get("id"):
            raise
        client.replace_user(str(existing["id"]), resource)
        keep_remote_id(target, account.subject, existing["id"])
        return "updated"


def deprovision(client, target, subject, user_name):
    """Deactivate (or delete, per the app's setting) the app's user; returns what was done, or None when the
    app has no such user."""
    found = find_remote(client, target, subject, user_name)
    if not found:
        return None
    try:
        if target.deprovision == DELETE:
            client.delete_user(found)
            keep_remote_id(target, subject, None)
            return "deleted"
        client.deactivate_user(found)
        return "deactivated"
    except NotFound:
        keep_remote_id(target, subject, None)
        return None
