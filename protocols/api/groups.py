"""/groups: search, one group, create, change, delete, members (list, add = move in, remove = to the
default group). The console's use-cases and rules (idp.console.groups, idp.console.group_members)."""
from flask import url_for
from spectree import Response

from idp.console import api_support, group_members
from idp.console import groups as console_groups
from idp.console.account_search import AccountFilter
from idp.platform.clock import current_time
from idp.platform.extensions import db
from protocols.api.accounts import account_body
from protocols.api.blueprint import audit_context, bp, no_content, spec, tenant
from protocols.api.schemas import (AccountList, AppRef, Group, GroupCreate, GroupList, GroupQuery, GroupSummary,
                                   GroupUpdate, MembersAdd, MembersAdded, MembersQuery, utc)

TAGS = ("groups",)


def _group(group_id):
    return console_groups.get_group(tenant(), group_id)


def _body(group):
    values = api_support.group_values(group)
    return Group(**{**values, "apps": [AppRef(**app) for app in values["apps"]], "created_at": utc(group.created_at)})


@bp.get("/groups", endpoint="groups")
@spec.validate(resp=Response(HTTP_200=GroupList), tags=TAGS)
def list_groups(query: GroupQuery):
    """Search the groups

    By name (a substring); the default group first, then by name."""
    page = console_groups.search_groups(tenant(), query.q.strip()[:100], page=query.page, per_page=query.per_page)
    return GroupList(items=[GroupSummary(**row) for row in page.rows], total=page.total, page=page.page,
                     per_page=page.per_page, pages=page.pages)


@bp.post("/groups", endpoint="group_create")
@spec.validate(resp=Response(HTTP_201=Group), tags=TAGS)
def create_group(json: GroupCreate):
    """Create a group"""
    group = console_groups.create_group_with_apps(tenant(), name=json.name, description=json.description,
                                                  app_ids=json.app_ids, **audit_context())
    db.session.commit()
    return _body(group), 201, {"Location": url_for("api.group", tenant_slug=tenant().slug, group_id=group.id)}


@bp.get("/groups/<int:group_id>", endpoint="group")
@spec.validate(resp=Response(HTTP_200=Group), tags=TAGS)
def get_group(group_id):
    """Get a group with its apps"""
    return _body(_group(group_id))


@bp.patch("/groups/<int:group_id>", endpoint="group_update")
@spec.validate(resp=Response(HTTP_200=Group), tags=TAGS)
def update_group(group_id, json: GroupUpdate):
    """Change a group

    Only the fields sent change; `app_ids` replaces the group's apps."""
    group = _group(group_id)
    given = json.model_fields_set
    console_groups.update_group(
        group, name=json.name if "name" in given else group.name,
        description=json.description if "description" in given else group.description,
        app_ids=json.app_ids if "app_ids" in given else [app.id for app in group.apps], **audit_context())
    db.session.commit()
    return _body(group)


@bp.delete("/groups/<int:group_id>", endpoint="group_delete")
@spec.validate(resp=Response("HTTP_204"), tags=TAGS)
def delete_group(group_id):
    """Delete a group

    Its members move to the default group; the default group cannot be deleted (409)."""
    console_groups.delete_groups(tenant(), [_group(group_id).id], **audit_context())
    db.session.commit()
    return no_content()


@bp.get("/groups/<int:group_id>/members", endpoint="group_members")
@spec.validate(resp=Response(HTTP_200=AccountList), tags=TAGS)
def list_members(group_id, query: MembersQuery):
    """List a group's members, by name"""
    group = _group(group_id)
    page = api_support.account_page(tenant(), AccountFilter(group_id=group.id), now=current_time(), page=query.page,
                                    per_page=query.per_page)
    return AccountList(items=[account_body(row) for row in page.rows], total=page.total, page=page.page,
                       per_page=page.per_page, pages=page.pages)


@bp.post("/groups/<int:group_id>/members", endpoint="group_members_add")
@spec.validate(resp=Response(HTTP_200=MembersAdded), tags=TAGS)
def add_members(group_id, json: MembersAdd):
    """Add members

    An account is in exactly one group: adding it moves it out of its current group. Refused as a whole
    (409, the accounts named in `errors`) when the group's MFA policy is SMS and some have no mobile number."""
    added = group_members.add_members(_group(group_id), json.account_ids, **audit_context())
    db.session.commit()
    return MembersAdded(added=added.added, moved_from_other_groups=added.from_other_groups)


@bp.delete("/groups/<int:group_id>/members/<int:account_id>", endpoint="group_member_remove")
@spec.validate(resp=Response("HTTP_204"), tags=TAGS)
def remove_member(group_id, account_id):
    """Remove a member

    The account moves to the default group. Not for the default group's members (409)."""
    group_members.remove_members(_group(group_id), [account_id], **audit_context())
    db.session.commit()
    return no_content()
