"""/Users (RFC 7644 §3.3–3.6): list and search, get, create, replace, patch, delete.

A User is an account (idp.provisioning.scim_mapping); writes go through idp.console.scim_support, so
they follow the console's rules and are audited as the token. PATCH is applied to the current resource
(scim2-models) and the result is written like a PUT.
"""
from flask import g
from flask_babel import gettext as _
from scim2_models import Context, InvalidValueException, NotFoundException

from idp.console import scim_support
from idp.platform.extensions import db
from idp.provisioning import scim_mapping, scim_query
from protocols.scim import resources
from protocols.scim.blueprint import base_url, json_body, scim_response
from protocols.scim.schemas import UserModel


def _documents(accounts):
    external = scim_query.external_ids(g.scim_tenant, scim_query.USER, [account.subject for account in accounts])
    return [scim_mapping.user_resource(account, base_url=base_url(), external_id=external.get(account.subject))
            for account in accounts]


def _account(user_id):
    account = scim_query.account_by_subject(g.scim_tenant, user_id)
    if account is None:
        raise NotFoundException(detail=_("ユーザーが見つかりません。"))
    return account


def _answer(account, status=200):
    document = _documents([account])[0]
    headers = {"ETag": document["meta"]["version"]}
    if status == 201:
        headers["Location"] = document["meta"]["location"]
    return scim_response(resources.render(UserModel, document, resources.response_parameters()), status, headers)


def _values(document):
    try:
        return scim_mapping.account_values(document)
    except ValueError:
        raise InvalidValueException(detail=_("validFrom・validTo は YYYY-MM-DD の形式で指定してください。")) from None


def _with_name_edits(before, after):
    """A PATCH of displayName, or of givenName/familyName alone, renames (name.formatted would win otherwise)."""
    name = dict(after.get("name") or {})
    if name.get("formatted") == before["name"]["formatted"]:
        if after.get("displayName") and after["displayName"] != before["displayName"]:
            name["formatted"] = after["displayName"]
        elif name.get("givenName") or name.get("familyName"):
            name.pop("formatted", None)
    return {**after, "name": name}


def _commit(account, status=200):
    db.session.commit()
    return _answer(account, status)


def users():
    return resources.list_response(UserModel, scim_query.USER, _documents)


def search_users():
    return resources.list_response(UserModel, scim_query.USER, _documents, body=json_body())


def user(user_id):
    account = _account(user_id)
    version = scim_mapping.user_version(account)
    if resources.not_modified(version):
        return scim_response({}, 304, {"ETag": version})
    return _answer(account)


def create_user():
    values = _values(resources.writable(UserModel, Context.RESOURCE_CREATION_REQUEST))
    account = scim_support.create_user(g.scim_tenant, values, now=g.scim_now, actor=g.scim_actor)
    return _commit(account, 201)


def replace_user(user_id):
    account = _account(user_id)
    resources.check_version(scim_mapping.user_version(account))
    values = _values(resources.writable(UserModel, Context.RESOURCE_REPLACEMENT_REQUEST))
    scim_support.replace_user(account, values, now=g.scim_now, actor=g.scim_actor)
    return _commit(account)


def patch_user(user_id):
    account = _account(user_id)
    resources.check_version(scim_mapping.user_version(account))
    before = _documents([account])[0]
    document = _with_name_edits(before, resources.patched(UserModel, before))
    scim_support.replace_user(account, _values(document), now=g.scim_now, actor=g.scim_actor)
    return _commit(account)


def delete_user(user_id):
    account = _account(user_id)
    resources.check_version(scim_mapping.user_version(account))
    scim_support.delete_user(account, now=g.scim_now, actor=g.scim_actor)
    db.session.commit()
    return "", 204
