"""/Groups (RFC 7644 §3.3–3.6): list and search, get, create, replace, patch, delete.

One group per account: a member added here leaves its old group (the response names it in the
`Matome-Moved-From` header: `<user id>=<old group name, percent-encoded>`, comma-separated, on POST, PUT
and PATCH when some member came from a group other than the default one); a member removed goes to the
default group, whose own members cannot be removed and which cannot be deleted. A group's apps and
description are the console's: SCIM never changes them.
"""
from urllib.parse import quote

from flask import g
from flask_babel import gettext as _
from scim2_models import Context, NotFoundException

from idp.console import scim_support
from idp.platform.extensions import db
from idp.provisioning import scim_mapping, scim_query
from protocols.scim import resources
from protocols.scim.blueprint import base_url, json_body, scim_response
from protocols.scim.schemas import GroupModel

MOVED_HEADER = "Matome-Moved-From"


def _documents(groups):
    tenant = g.scim_tenant
    members = scim_query.members_of(tenant, groups)
    external = scim_query.external_ids(tenant, scim_query.GROUP, [group.id for group in groups])
    return [scim_mapping.group_resource(group, members[group.id], base_url=base_url(),
                                        external_id=external.get(str(group.id)))
            for group in groups]


def _group(group_id):
    group = scim_query.group_by_id(g.scim_tenant, group_id)
    if group is None:
        raise NotFoundException(detail=_("グループが見つかりません。"))
    return group


def _version(group):
    return scim_mapping.group_version(group, scim_query.members_of(g.scim_tenant, [group])[group.id])


def _answer(group, status=200, moved_from=None):
    document = _documents([group])[0]
    headers = {"ETag": document["meta"]["version"]}
    if moved_from:
        headers[MOVED_HEADER] = ", ".join(f"{subject}={quote(name, safe='')}"
                                          for subject, name in sorted(moved_from.items()))
    if status == 201:
        headers["Location"] = document["meta"]["location"]
    return scim_response(resources.render(GroupModel, document, resources.response_parameters()), status, headers)


def _values(document):
    return {"display_name": document.get("displayName") or "", "external_id": document.get("externalId"),
            "members": [member["value"] for member in document.get("members") or [] if member.get("value")]}


def _written(written, status=200):
    db.session.commit()
    return _answer(written.group, status, written.moved_from)


def groups():
    return resources.list_response(GroupModel, scim_query.GROUP, _documents)


def search_groups():
    return resources.list_response(GroupModel, scim_query.GROUP, _documents, body=json_body())


def group(group_id):
    found = _group(group_id)
    version = _version(found)
    if resources.not_modified(version):
        return scim_response({}, 304, {"ETag": version})
    return _answer(found)


def create_group():
    values = _values(resources.writable(GroupModel, Context.RESOURCE_CREATION_REQUEST))
    return _written(scim_support.create_group(g.scim_tenant, values, now=g.scim_now, actor=g.scim_actor), 201)


def replace_group(group_id):
    found = _group(group_id)
    resources.check_version(_version(found))
    values = _values(resources.writable(GroupModel, Context.RESOURCE_REPLACEMENT_REQUEST))
    return _written(scim_support.replace_group(found, values, now=g.scim_now, actor=g.scim_actor))


def patch_group(group_id):
    found = _group(group_id)
    resources.check_version(_version(found))
    document = resources.patched(GroupModel, _documents([found])[0])
    return _written(scim_support.replace_group(found, _values(document), now=g.scim_now, actor=g.scim_actor))


def delete_group(group_id):
    found = _group(group_id)
    resources.check_version(_version(found))
    scim_support.delete_group(found, now=g.scim_now, actor=g.scim_actor)
    db.session.commit()
    return "", 204
