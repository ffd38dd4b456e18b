"""SP metadata by URL in the SAML app pages (idp.saml.metadata_fetch does the fetching, server-side).

- 「取得」 on the SAML form (create or edit) posts the whole form here: the metadata at the typed URL fills
  the connection fields and the form comes back to be checked and saved (nothing is saved here).
- 「メタデータを再取得」 on the app page re-reads the stored URL and applies it at once (audited as an edit).
"""
from flask import abort, flash, g, redirect, url_for
from flask_babel import lazy_gettext as _l

from admin_ui.admin import bp
from admin_ui.admin.access import admin_required, audit_context
from admin_ui.admin.app_forms import SamlAppForm
from admin_ui.admin.apps import form_page
from admin_ui.admin.forms import ConfirmForm
from admin_ui.saving import save
from idp.console import apps as console_apps
from idp.models.app import PROTOCOL_SAML
from idp.platform.clock import current_time
from idp.platform.errors import ValidationError
from idp.saml import metadata_fetch
from idp.saml.metadata_import import parse_sp_metadata


def _saml_app(app_id):
    app = console_apps.get_app(g.tenant, app_id)
    if app.protocol != PROTOCOL_SAML:
        abort(404)
    return app


@bp.route("/apps/new/saml/metadata", methods=["POST"])
@bp.route("/apps/<int:app_id>/metadata/fetch", methods=["POST"])
@admin_required
def app_metadata_fetch(app_id=None):
    """The SAML form again, its connection fields filled from the metadata at its URL (or the URL's error)."""
    if app_id is not None:
        _saml_app(app_id)
    form = SamlAppForm()
    if not form.validate_on_submit():
        abort(400)
    errors, notice = {}, None
    try:
        form.fill_from_metadata(parse_sp_metadata(metadata_fetch.fetch_sp_metadata(form.metadata_url.data)))
        notice = _l("メタデータの内容を入力欄に反映しました。確認して保存してください。")
    except ValidationError as exc:
        errors = exc.errors
    return form_page(PROTOCOL_SAML, form, errors, app_id, notice)


@bp.route("/apps/<int:app_id>/metadata/refresh", methods=["POST"])
@admin_required
def app_metadata_refresh(app_id):
    sp = console_apps.saml_sp_of(_saml_app(app_id))
    if not ConfirmForm().validate_on_submit():
        abort(400)
    actor, client = audit_context()
    saved = save(lambda: metadata_fetch.refresh_from_url(sp, now=current_time(), actor=actor, client=client))
    if saved.ok:
        flash(_l("メタデータを再取得して、設定を更新しました。") if saved.value
              else _l("メタデータを再取得しました。設定に変更はありません。"), "info")
    for messages in saved.errors.values():
        for message in messages:
            flash(message, "error")
    return redirect(url_for("admin.app_detail", app_id=app_id))
