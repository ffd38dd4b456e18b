"""Apps (メニュー「サービス」): list, OIDC/SAML create and edit (one form per protocol), detail with the
values to copy into the SaaS, client-secret regeneration, delete after a confirmation page.

A client secret is only ever in the response to the POST that made it (creation, regeneration,
switch to confidential), never in a redirect, the session or a log; that page is `no-store`."""
from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from admin_ui.admin import bp
from admin_ui.admin.access import admin_required, audit_context
from admin_ui.admin.app_forms import OidcAppForm, SamlAppForm
from admin_ui.admin.forms import ConfirmForm
from admin_ui.saving import save
from idp.console import app_pages, catalog_pages
from idp.console import apps as console_apps
from idp.console.groups import group_choices
from idp.models.app import PROTOCOL_OIDC, PROTOCOL_SAML, TILE_COLORS
from idp.platform.clock import current_time
from idp.platform.extensions import db
from idp.saml.registry import ATTRIBUTE_KEYS, ATTRIBUTE_PRESETS, NAMEID_FORMATS, SIGN_CHOICES

# protocol -> (form class, create, update, values of an app for its edit form)
_FORMS = {
    PROTOCOL_OIDC: (OidcAppForm, console_apps.create_oidc, console_apps.update_oidc, app_pages.oidc_fields_of),
    PROTOCOL_SAML: (SamlAppForm, console_apps.create_saml, console_apps.update_saml, app_pages.saml_fields_of),
}


def ui_language():
    """The admin's language for data that has both ("ja" or "en"): the catalog's presets and steps."""
    return "ja" if str(get_locale() or "ja").startswith("ja") else "en"


@bp.route("/apps")
@admin_required
def apps():
    return render_template("admin/apps/list.html", rows=app_pages.list_rows(g.tenant),
                           urls=app_pages.tenant_urls(g.tenant))


@bp.route("/apps/new/<any(oidc, saml):protocol>", methods=["GET", "POST"])
@admin_required
def app_new(protocol):
    return _app_form(protocol, None)


@bp.route("/apps/<int:app_id>/edit", methods=["GET", "POST"])
@admin_required
def app_edit(app_id):
    app = console_apps.get_app(g.tenant, app_id)
    if app.protocol not in _FORMS:
        abort(404)
    return _app_form(app.protocol, app)


def _app_form(protocol, app):
    """Shared by create and edit of both protocols."""
    form_class, create, update, fields_of = _FORMS[protocol]
    form = form_class() if app is None or request.method == "POST" else form_class.of(fields_of(app))
    errors = {}
    if form.validate_on_submit():
        actor, client = audit_context()
        options = dict(now=current_time(), actor=actor, client=client)
        if protocol == PROTOCOL_SAML:
            options["metadata"] = form.metadata_bytes()
        saved = save(lambda: _create_or_update(app, create, update, form.to_fields(), options),
                     _l("サービスを保存しました。"))
        if saved.ok:
            app, secret = saved.value
            return secret_page(app, secret) if secret else redirect(url_for("admin.app_detail", app_id=app.id))
        errors = saved.errors
    return form_page(protocol, form, errors, app.id if app else None)


def form_page(protocol, form, errors, app_id, notice=None):
    """The OIDC or SAML form page (also after the SAML form's 「取得」, admin_ui/admin/app_metadata.py)."""
    return render_template(f"admin/apps/{protocol}_form.html", form=form, errors=errors, notice=notice,
                           app_id=app_id, groups=group_choices(g.tenant),
                           selected_groups={str(v) for v in form.groups.data or []}, colors=TILE_COLORS,
                           nameid_formats=NAMEID_FORMATS, sign_choices=SIGN_CHOICES,
                           attribute_presets=ATTRIBUTE_PRESETS, attribute_keys=ATTRIBUTE_KEYS,
                           presets=app_pages.attribute_presets())


def _create_or_update(app, create, update, fields, options):
    """-> (the app, its new client secret or None)."""
    if app is None:
        created = create(g.tenant, fields, **options)
        return created.app, getattr(created, "client_secret", None)
    return app, update(app, fields, **options)


def secret_page(app, secret):
    values = app_pages.detail_values(g.tenant, app)
    response = render_template("admin/apps/secret.html", app=values, client_secret=secret)
    return response, 200, {"Cache-Control": "no-store", "Pragma": "no-cache"}


@bp.route("/apps/<int:app_id>")
@admin_required
def app_detail(app_id):
    """The app's values; for an app made from a preset its setup steps (in the admin's language)."""
    app = console_apps.get_app(g.tenant, app_id)
    return render_template("admin/apps/detail.html", app=app_pages.detail_values(g.tenant, app), form=ConfirmForm(),
                           setup=catalog_pages.setup(g.tenant, app, ui_language()),
                           downloads=catalog_pages.offers_downloads(app))


@bp.route("/apps/<int:app_id>/secret", methods=["POST"])
@admin_required
def app_regenerate_secret(app_id):
    app = console_apps.get_app(g.tenant, app_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    actor, client = audit_context()
    secret = console_apps.regenerate_secret(app, now=current_time(), actor=actor, client=client)
    db.session.commit()
    flash(_l("クライアントシークレットを再発行しました。以前のシークレットは使えません。"), "info")
    return secret_page(app, secret)


@bp.route("/apps/<int:app_id>/delete", methods=["POST"])
@admin_required
def app_delete(app_id):
    """The first POST shows the confirmation page; the second (confirm=1) deletes."""
    app = console_apps.get_app(g.tenant, app_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    if request.form.get("confirm") != "1":
        return render_template("admin/apps/delete.html", form=form, app_id=app.id,
                               items=[{"id": app.id, "label": app.name}])
    actor, client = audit_context()
    console_apps.delete_app(app, now=current_time(), actor=actor, client=client)
    db.session.commit()
    flash(_l("サービスを削除しました。"), "info")
    return redirect(url_for("admin.apps"))
