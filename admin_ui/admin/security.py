"""Security settings: the MFA policy (tenant and per group) and signing-key rotation."""
from datetime import timedelta

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from admin_ui.admin import bp
from admin_ui.admin.access import admin_required, audit_context
from admin_ui.admin.forms import ConfirmForm
from idp import keys
from idp.authn.mfa import policy as mfa_policy
from idp.console.groups import get_group, group_choices
from idp.console.security import rotate_keys
from idp.platform.clock import current_time
from idp.platform.errors import Conflict
from idp.platform.extensions import db
from idp.platform.urls import issuer_for, saml_metadata_url_for
from idp.platform.validation import parse_number


@bp.route("/security")
@admin_required
def security():
    overrides = mfa_policy.list_overrides(g.tenant)
    groups = [{"id": gid, "name": name, "mode": overrides.get(gid, mfa_policy.INHERIT)}
              for gid, name in group_choices(g.tenant)]
    return render_template("admin/security.html", form=ConfirmForm(), tenant_mode=mfa_policy.get_policy(g.tenant),
                           groups=groups, modes=mfa_policy.MODES, inherit=mfa_policy.INHERIT,
                           keys=keys.key_states(g.tenant.id, current_time()))


@bp.route("/security/mfa", methods=["POST"])
@admin_required
def security_mfa():
    """The tenant's mode, or one group's override (`group` field present)."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    field = request.form.get("group", "")
    group_id = parse_number(field)
    if field and group_id is None:
        abort(400)
    group = get_group(g.tenant, group_id) if field else None
    actor, client = audit_context()
    mfa_policy.set_policy(g.tenant, request.form.get("mode", ""), group=group, now=current_time(), actor=actor,
                          client=client)
    db.session.commit()
    flash(_l("二段階認証の設定を保存しました。"), "info")
    return redirect(url_for("admin.security"))


@bp.route("/security/keys/rotate", methods=["POST"])
@admin_required
def security_rotate_keys():
    """The first POST (鍵を更新する) explains what happens and asks; the second (confirm=1) rotates."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if request.form.get("confirm") != "1":
        return _rotation_confirmation(current_time())
    actor, client = audit_context()
    try:
        rotate_keys(g.tenant, now=current_time(), actor=actor, client=client)
    except Conflict:
        db.session.rollback()
        flash(_l("新しい鍵がすでに準備中です。切り替わるまでお待ちください。"), "error")
    else:
        db.session.commit()
        flash(_l("新しい署名鍵を作成しました。公開期間の後に切り替わります。"), "info")
    return redirect(url_for("admin.security"))


def _rotation_confirmation(now):
    """What a rotation does, with this installation's times (idp/keys/store.py: the new keys are published
    at once and sign after IDP_KEY_PREPUBLISH_SECONDS; the old ones stay published for verification
    IDP_KEY_RETENTION_SECONDS longer)."""
    config = current_app.config
    activates_at = now + timedelta(seconds=int(config["IDP_KEY_PREPUBLISH_SECONDS"]))
    pending = [key for key in keys.key_states(g.tenant.id, now) if key["state"] == "pending"]
    return render_template(
        "admin/security_rotate.html", pending_since=pending[0]["activates_at"] if pending else None,
        activates_at=activates_at,
        old_until=activates_at + timedelta(seconds=int(config["IDP_KEY_RETENTION_SECONDS"])),
        metadata_url=saml_metadata_url_for(g.tenant.slug), jwks_url=issuer_for(g.tenant.slug) + "/oidc/jwks")
