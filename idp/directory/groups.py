"""Groups: every account is in exactly one; each tenant has an undeletable default group."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from idp.logs.audit import NO_CLIENT, record_audit
from idp.models import Group
from idp.platform.errors import Conflict, NotFound, ValidationError
from idp.platform.extensions import db
from idp.platform.validation import text_errors


def default_group(tenant):
    return db.session.scalar(select(Group).where(Group.tenant_id == tenant.id, Group.is_default.is_(True)))


def find_by_name(tenant, name):
    return db.session.scalar(select(Group).where(Group.tenant_id == tenant.id, Group.name == name))


def get_by_name(tenant, name):
    group = find_by_name(tenant, name)
    if group is None:
        raise NotFound(_l("グループ「%(name)s」が見つかりません。", name=name))
    return group


def create_group(tenant, name, *, now, actor, description="", is_default=False, client=NO_CLIENT):
    name = (name or "").strip()
    errors = text_errors(name, required=True, max_length=100,
                         required_message=_l("グループ名を入力してください。"))
    if errors:
        raise ValidationError({"name": errors})
    if find_by_name(tenant, name) is not None:
        raise Conflict(_l("グループ「%(name)s」はすでに存在します。", name=name))
    group = Group(tenant_id=tenant.id, name=name, description=description or "",
                  is_default=is_default, created_at=now)
    db.session.add(group)
    db.session.flush()
    record_audit(tenant_id=tenant.id, actor=actor, action="group.create", target=group, now=now,
                 changes={"name": name}, client=client)
    return group
