"""Apps (relying parties): the portal tiles, bookmark apps, and which groups may use them."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from idp.logs.audit import NO_CLIENT, record_audit
from idp.models import App, Group, group_apps
from idp.models.app import PROTOCOL_LINK
from idp.platform import config_cache
from idp.platform.errors import ValidationError
from idp.platform.extensions import db
from idp.platform.validation import text_errors


def tiles_for(account):
    """The portal tiles of the apps the account's group may use, as plain values."""
    rows = db.session.scalars(
        select(App).join(group_apps, group_apps.c.app_id == App.id)
        .where(group_apps.c.group_id == account.group_id, App.tenant_id == account.tenant_id)
        .order_by(App.name)
    ).all()
    return [{"id": app.id, "name": app.name, "protocol": app.protocol, "launch_url": app.launch_url,
             "icon": app.icon, "color_index": app.color_index} for app in rows]


def may_use(account, registration):
    """The one access check of both protocols: whether the account's group is assigned to the app of an
    OIDC client or a SAML SP (`registration.app_id`), in the same tenant. The app's groups come from the
    per-process config cache (idp.platform.config_cache), dropped at any change of the tenant's apps."""
    if account.tenant_id != registration.tenant_id:
        return False
    allowed = config_cache.cached(registration.tenant_id, ("app_groups", registration.app_id), lambda: frozenset(
        db.session.scalars(select(group_apps.c.group_id).where(group_apps.c.app_id == registration.app_id))))
    return account.group_id in allowed


def create_bookmark_app(tenant, *, name, launch_url, now, actor, groups=(), client=NO_CLIENT):
    """An app that the portal tile simply links to (protocol apps come from the protocol packages)."""
    name = (name or "").strip()
    errors = {"name": text_errors(name, required=True, max_length=200)}
    if not (launch_url or "").startswith(("https://", "http://")):
        errors["launch_url"] = [_l("URLはhttps://またはhttp://で始めてください。")]
    if any(errors.values()):
        raise ValidationError(errors)
    app = new_app(tenant, name=name, protocol=PROTOCOL_LINK, launch_url=launch_url, groups=groups, now=now)
    record_audit(tenant_id=tenant.id, actor=actor, action="app.create", target=app, now=now,
                 changes={"name": name, "protocol": PROTOCOL_LINK}, client=client)
    return app


def new_app(tenant, *, name, protocol, launch_url="", groups=(), now):
    """The App row of any protocol (its portal tile and group assignment; only the tenant's own groups),
    flushed so that the protocol's row can point to it."""
    app = App(tenant_id=tenant.id, name=name, protocol=protocol, launch_url=launch_url,
              created_at=now, updated_at=now)
    app.groups = [g for g in groups if isinstance(g, Group) and g.tenant_id == tenant.id]
    db.session.add(app)
    db.session.flush()
    return app
