"""Apps (relying parties) and which groups may use them."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .audit import NO_CLIENT, record_audit
from .errors import ValidationError
from .extensions import db
from .models import App, Group, group_apps
from .models.app import PROTOCOL_LINK
from .validation import text_errors


def tiles_for(account):
    """The portal tiles of the apps the account's group may use, as plain values."""
    rows = db.session.scalars(
        select(App).join(group_apps, group_apps.c.app_id == App.id)
        .where(group_apps.c.group_id == account.group_id, App.tenant_id == account.tenant_id)
        .order_by(App.name)
    ).all()
    return [{"id": app.id, "name": app.name, "protocol": app.protocol, "launch_url": app.launch_url,
             "icon": app.icon, "color_index": app.color_index} for app in rows]


def may_use(account, app):
    """Whether the account's group is assigned to the app (same tenant only)."""
    if app is None or app.tenant_id != account.tenant_id:
        return False
    return db.session.scalar(
        select(group_apps.c.app_id).where(group_apps.c.app_id == app.id,
                                          group_apps.c.group_id == account.group_id)) is not None


def create_bookmark_app(tenant, *, name, launch_url, now, actor, groups=(), client=NO_CLIENT):
    """An app that the portal tile simply links to (protocol apps come from the protocol packages)."""
    name = (name or "").strip()
    errors = {"name": text_errors(name, required=True, max_length=200)}
    if not (launch_url or "").startswith(("https://", "http://")):
        errors["launch_url"] = [_l("URLはhttps://またはhttp://で始めてください。")]
    if any(errors.values()):
        raise ValidationError(errors)
    app = App(tenant_id=tenant.id, name=name, protocol=PROTOCOL_LINK, launch_url=launch_url,
              created_at=now, updated_at=now)
    app.groups = [g for g in groups if isinstance(g, Group) and g.tenant_id == tenant.id]
    db.session.add(app)
    db.session.flush()
    record_audit(tenant_id=tenant.id, actor=actor, action="app.create", target=app, now=now,
                 changes={"name": name, "protocol": PROTOCOL_LINK}, client=client)
    return app
