"""SCIM連携: the bearer tokens of the tenant's SCIM endpoint (create, shown once; list; revoke).

A new token is shown on the page that answers the POST, never stored in the session or redirected
through: reloading that page does not show it again (the response is not cached).
"""
from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField

from admin_ui.admin import bp
from admin_ui.admin.access import admin_required, audit_context
from admin_ui.admin.forms import ConfirmForm
from admin_ui.saving import save
from idp.models.scim import SCOPE_READ, SCOPE_WRITE
from idp.platform.clock import current_time
from idp.platform.extensions import db
from idp.platform.urls import issuer_for
from idp.platform.validation import parse_number
from idp.provisioning import scim_tokens

EXPIRY_CHOICES = ("", "30", "90", "365")


class TokenForm(FlaskForm):
    name = StringField()
    scope = StringField(default=SCOPE_WRITE)
    expires_days = StringField(default="365")


def _page(form, errors=None, new_token=None, status=200):
    now = current_time()
    rows = [{"id": t.id, "name": t.name, "scope": t.scope, "created_at": t.created_at, "created_by": t.created_by,
             "expires_at": t.expires_at, "last_used_at": t.last_used_at, "revoked_at": t.revoked_at,
             "usable": scim_tokens.is_usable(t, now)} for t in scim_tokens.list_tokens(g.tenant)]
    response = render_template("admin/scim_tokens.html", form=form, confirm=ConfirmForm(), errors=errors or {},
                               tokens=rows, new_token=new_token, scopes=(SCOPE_READ, SCOPE_WRITE),
                               expiry_choices=EXPIRY_CHOICES, scim_url=f"{issuer_for(g.tenant.slug)}/scim/v2")
    return response, status, {"Cache-Control": "no-store"}


@bp.route("/scim-tokens")
@admin_required
def scim_tokens_page():
    return _page(TokenForm())


@bp.route("/scim-tokens", methods=["POST"])
@admin_required
def scim_token_create():
    form = TokenForm()
    if not form.validate_on_submit():
        abort(400)
    days = form.expires_days.data or ""
    if days not in EXPIRY_CHOICES:
        return _page(form, {"expires_days": [_l("有効期限を選んでください。")]}, status=400)
    actor, client = audit_context()
    saved = save(lambda: scim_tokens.create_token(
        g.tenant, name=form.name.data, scope=form.scope.data, expires_days=int(days) if days else None,
        now=current_time(), actor=actor, client=client), _l("トークンを作成しました。"))
    if not saved.ok:
        return _page(form, saved.errors, status=400)
    return _page(TokenForm(formdata=None), new_token=saved.value[1])


@bp.route("/scim-tokens/revoke", methods=["POST"])
@admin_required
def scim_token_revoke():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    token_id = parse_number(request.form.get("token", ""))
    if token_id is None:
        abort(400)
    actor, client = audit_context()
    token = scim_tokens.revoke_token(g.tenant, token_id, now=current_time(), actor=actor, client=client)
    db.session.commit()
    flash(_l("トークン「%(name)s」を無効にしました。", name=token.name), "info")
    return redirect(url_for("admin.scim_tokens_page"))
