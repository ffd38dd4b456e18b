"""The プロビジョニング section of an app's page (admin_ui/templates/admin/apps/_provisioning.html): SCIM base
URL, token (write-only), 無効化/削除 on deprovision, enabled; last sync, pending, failed with the app's
errors; 「今すぐ同期」 (a full reconciliation, run by the worker after the commit: the page never waits).

The section's values reach the app page's template through this blueprint's context processor (the app
page's view stays as it is); a refused form renders the app page again with the errors (400).
"""
from flask import abort, flash, g, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField

from admin_ui.admin import bp
from admin_ui.admin.access import admin_required, audit_context
from admin_ui.admin.apps import app_detail
from admin_ui.admin.forms import ConfirmForm
from admin_ui.saving import save
from idp.console import apps as console_apps
from idp.platform.clock import current_time
from idp.platform.errors import NotFound
from idp.provisioning import settings

_PAGES = ("admin.app_detail", "admin.app_provisioning")


class ProvisioningForm(FlaskForm):
    base_url = StringField()
    token = PasswordField()
    enabled = BooleanField()
    deprovision = StringField()

    def to_settings(self):
        return settings.Settings(base_url=self.base_url.data or "", token=self.token.data or "",
                                 enabled=bool(self.enabled.data), deprovision=self.deprovision.data or "")


@bp.context_processor
def _provisioning_section():
    """The section's plain values, on the app page only."""
    if request.endpoint not in _PAGES or g.get("tenant") is None:
        return {}
    try:
        app = console_apps.get_app(g.tenant, request.view_args["app_id"])
    except NotFound:  # the error page of an unknown app's page
        return {}
    values = settings.status(app)
    typed = g.get("provisioning_typed")
    if typed is not None:  # a refused form: what the admin typed (never the token)
        values.update(base_url=typed.base_url, enabled=typed.enabled, deprovision=typed.deprovision)
    return {"provisioning": values, "provisioning_errors": g.get("provisioning_errors") or {}}


@bp.route("/apps/<int:app_id>/provisioning", methods=["POST"])
@admin_required
def app_provisioning(app_id):
    app = console_apps.get_app(g.tenant, app_id)
    form = ProvisioningForm()
    if not form.validate_on_submit():
        abort(400)
    actor, client = audit_context()
    typed = form.to_settings()
    saved = save(lambda: settings.save(app, typed, now=current_time(), actor=actor, client=client),
                 _l("プロビジョニングの設定を保存しました。"))
    if saved.ok:
        return redirect(url_for("admin.app_detail", app_id=app.id) + "#provisioning")
    g.provisioning_errors, g.provisioning_typed = saved.errors, typed
    return app_detail.__wrapped__(app_id), 400


@bp.route("/apps/<int:app_id>/provisioning/sync", methods=["POST"])
@admin_required
def app_provisioning_sync(app_id):
    app = console_apps.get_app(g.tenant, app_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    actor, client = audit_context()
    saved = save(lambda: settings.request_sync(app, now=current_time(), actor=actor, client=client))
    if saved.value:
        flash(_l("同期を開始しました。結果はこの画面の「最終同期」と「送信失敗」で確認できます。"), "info")
    else:
        flash(_l("プロビジョニングが有効になっていないため、同期できません。"), "error")
    return redirect(url_for("admin.app_detail", app_id=app.id) + "#provisioning")
