"""Group administration: search, edit, apps, deletion (members move to the default group); adding and
taking out members is `idp.console.group_members`.

Every look-up is bounded by the tenant, so ids guessed from another tenant are 'not found'.
Which apps an account may use follows from its group (`idp.apps.catalogue.may_use`), so moving an
account or changing a group's apps takes effect at the next request.
"""
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from idp.console.tenant_rows import tenant_row, tenant_rows
from idp.directory.groups import create_group, default_group, find_by_name
from idp.logs.audit import NO_CLIENT, record_audit
from idp.models import Account, App, Group
from idp.platform.errors import Conflict, NotFound, ServiceError, ValidationError
from idp.platform.extensions import db
from idp.platform.paging import contains, fetch_page
from idp.platform.validation import text_errors

PER_PAGE = 50


def get_group(tenant, group_id):
    group = tenant_row(Group, tenant, group_id)
    if group is None:
        raise NotFound(_l("グループが見つかりません。"))
    return group


def group_choices(tenant):
    """(id, name) of every group of the tenant, the default group first."""
    return db.session.execute(select(Group.id, Group.name).where(Group.tenant_id == tenant.id)
                              .order_by(Group.is_default.desc(), Group.name)).all()


def app_choices(tenant):
    return db.session.execute(select(App.id, App.name).where(App.tenant_id == tenant.id).order_by(App.name)).all()


def search_groups(tenant, query="", page=1, per_page=PER_PAGE):
    where = [Group.tenant_id == tenant.id]
    if query:
        where.append(contains(Group.name, query))
    members = (select(Account.group_id, func.count(Account.id).label("n"))
               .where(Account.tenant_id == tenant.id).group_by(Account.group_id).subquery())
    rows = (select(Group, func.coalesce(members.c.n, 0)).outerjoin(members, members.c.group_id == Group.id)
            .where(*where).order_by(Group.is_default.desc(), Group.name))
    return fetch_page(rows, select(func.count(Group.id)).where(*where), page=page, per_page=per_page,
                      values=lambda g, n: {"id": g.id, "name": g.name, "description": g.description,
                                           "is_default": g.is_default, "members": n})


def group_values(group):
    """The detail page: the group, its members and apps, and the default group its members would move to."""
    members = db.session.scalars(select(Account).where(Account.tenant_id == group.tenant_id,
                                                       Account.group_id == group.id).order_by(Account.name)).all()
    return {
        "id": group.id, "name": group.name, "description": group.description, "is_default": group.is_default,
        "created_at": group.created_at, "default_group": default_group(group.tenant).name,
        "members": [{"id": a.id, "name": a.name, "email": a.email} for a in members],
        "apps": [{"id": app.id, "name": app.name, "protocol": app.protocol} for app in group.apps],
    }


def _apps_in_tenant(tenant, app_ids):
    found = tenant_rows(App, tenant, app_ids)
    if found is None:
        raise ValidationError({"apps": [_l("サービスが見つかりません。")]})
    return found


def create_group_with_apps(tenant, *, name, description, app_ids, now, actor, client=NO_CLIENT):
    description = (description or "").strip()
    _check_description(description)
    apps = _apps_in_tenant(tenant, app_ids)
    group = create_group(tenant, name, description=description, now=now, actor=actor, client=client)
    group.apps = apps
    return group


def update_group(group, *, name, description, app_ids, now, actor, client=NO_CLIENT):
    name = (name or "").strip()
    description = (description or "").strip()
    errors = text_errors(name, required=True, max_length=100, required_message=_l("グループ名を入力してください。"))
    if errors:
        raise ValidationError({"name": errors})
    _check_description(description)
    other = find_by_name(group.tenant, name)
    if other is not None and other.id != group.id:
        raise Conflict(_l("グループ「%(name)s」はすでに存在します。", name=name))
    apps = _apps_in_tenant(group.tenant, app_ids)
    changes = {}
    if group.name != name:
        changes["name"] = [group.name, name]
    if group.description != description:
        changes["description"] = [group.description, description]
    old_apps, new_apps = sorted(a.id for a in group.apps), sorted(a.id for a in apps)
    if old_apps != new_apps:
        changes["apps"] = [old_apps, new_apps]
    group.name, group.description, group.apps = name, description, apps
    if changes:
        record_audit(tenant_id=group.tenant_id, actor=actor, action="group.update", target=group, now=now,
                     changes=changes, client=client)
    return changes


def _check_description(description):
    errors = text_errors(description, required=False, max_length=1000)
    if errors:
        raise ValidationError({"description": errors})


def groups_for_deletion(tenant, group_ids):
    """The groups to delete (same tenant); the default group is refused."""
    found = tenant_rows(Group, tenant, group_ids, order_by=(Group.name,))
    if not found:
        raise NotFound(_l("グループが見つかりません。"))
    if any(g.is_default for g in found):
        raise ServiceError(_l("デフォルトグループは削除できません。"))
    return found


def default_among(tenant, group_ids):
    """The default group of the tenant if it is among `group_ids` (it cannot be deleted), else nothing."""
    fallback = default_group(tenant)
    return [fallback] if fallback.id in set(group_ids) else []


def delete_groups(tenant, group_ids, *, now, actor, client=NO_CLIENT):
    """Delete groups; their members move to the default group. Returns the number of moved accounts."""
    doomed = groups_for_deletion(tenant, group_ids)
    fallback = default_group(tenant)
    moved = db.session.execute(
        update(Account).where(Account.tenant_id == tenant.id, Account.group_id.in_([g.id for g in doomed]))
        .values(group_id=fallback.id, updated_at=now)).rowcount
    for group in doomed:
        record_audit(tenant_id=tenant.id, actor=actor, action="group.delete", target=group, now=now,
                     changes={"name": group.name, "members_to": fallback.name}, client=client)
        db.session.delete(group)
    db.session.flush()
    db.session.expire_all()
    return moved
