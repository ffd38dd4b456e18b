"""The SaaS catalog (issue 17) in メニュー「サービス」: 追加 opens the picker (presets grouped by category,
searched by name with `?q=`, and 「その他」 for the full OIDC/SAML forms); a preset's form asks only its one
to three inputs, the name and the groups; 登録 leads to the app's page and its setup steps (an OIDC client's
secret first, once, as the full form does). The app pages offer our signing certificate and IdP metadata
for download."""
from flask import abort, g, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField

from admin_ui.admin import bp
from admin_ui.admin.access import admin_required, audit_context
from admin_ui.admin.apps import secret_page, ui_language
from admin_ui.saving import save
from idp.console import apps as console_apps
from idp.console import catalog_pages
from idp.console.groups import group_choices
from idp.platform.clock import current_time
from idp.platform.errors import ValidationError
from idp.platform.validation import parse_ids

INPUT_PREFIX = "input_"  # the form field of a preset's input `domain` is `input_domain`


class PresetForm(FlaskForm):
    """The CSRF token, the name and the groups; the preset's inputs are read by their keys."""

    name = StringField()
    groups = SelectMultipleField(validate_choice=False)

    def inputs(self, keys):
        return {key: (request.form.get(INPUT_PREFIX + key) or "").strip() for key in keys}

    def group_ids(self):
        ids = parse_ids([str(v) for v in self.groups.data or []])
        if ids is None:  # a number larger than any id: no group of the tenant
            raise ValidationError({"groups": [_l("グループが見つかりません。")]})
        return ids


@bp.route("/apps/add")
@admin_required
def app_catalog():
    query = request.args.get("q", "")[:catalog_pages.MAX_QUERY]
    return render_template("admin/catalog/picker.html", categories=catalog_pages.picker(ui_language(), query), q=query)


@bp.route("/apps/add/<preset_id>", methods=["GET", "POST"])
@admin_required
def app_add_preset(preset_id):
    preset = catalog_pages.preset_form(preset_id, ui_language())
    if preset is None:
        abort(404)
    form = PresetForm()
    values, errors = {}, {}
    if request.method == "POST":
        values = form.inputs(field["key"] for field in preset["inputs"])
        if not form.validate_on_submit():
            abort(400)
        saved = save(lambda: _register(preset_id, form, values), _l("サービスを保存しました。"))
        if saved.ok:
            created = saved.value
            secret = getattr(created, "client_secret", None)
            return secret_page(created.app, secret) if secret else redirect(
                url_for("admin.app_detail", app_id=created.app.id))
        errors = saved.errors
    input_keys = {field["key"] for field in preset["inputs"]}
    return render_template("admin/catalog/preset_form.html", preset=preset, form=form, values=values,
                           errors=errors, other_errors=_other_errors(errors, input_keys),
                           name=form.name.data if request.method == "POST" else preset["name"],
                           groups=group_choices(g.tenant), selected_groups={str(v) for v in form.groups.data or []})


def _register(preset_id, form, values):
    actor, client = audit_context()
    return catalog_pages.register(g.tenant, preset_id, inputs=values, name=form.name.data,
                                  group_ids=form.group_ids(), now=current_time(), actor=actor, client=client)


def _other_errors(errors, input_keys):
    """The messages of fields the form does not show (a value the templates built from the inputs)."""
    return [message for key, messages in errors.items() if key not in input_keys | {"name", "groups"}
            for message in messages]


def _download(body, filename, mimetype):
    return body, 200, {"Content-Type": mimetype, "Content-Disposition": f'attachment; filename="{filename}"',
                       "Cache-Control": "no-store"}


@bp.route("/apps/<int:app_id>/certificate.pem")
@admin_required
def app_certificate(app_id):
    console_apps.get_app(g.tenant, app_id)  # another tenant's id: 404
    pem = catalog_pages.signing_certificate(g.tenant, current_time())
    return _download(pem, f"{g.tenant.slug}-saml-signing.pem", "application/x-pem-file")


@bp.route("/apps/<int:app_id>/idp-metadata.xml")
@admin_required
def app_idp_metadata(app_id):
    console_apps.get_app(g.tenant, app_id)
    xml = catalog_pages.idp_metadata(g.tenant, current_time())
    return _download(xml, f"{g.tenant.slug}-idp-metadata.xml", "application/samlmetadata+xml")
