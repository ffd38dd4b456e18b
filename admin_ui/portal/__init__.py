"""The user portal: app tiles, own profile, password change."""
from flask import Blueprint, g, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l

from admin_ui.portal.forms import PasswordChangeForm, ProfileForm
from admin_ui.saving import COMMIT, save
from idp.apps import catalogue as apps
from idp.authn.password_change import change_password
from idp.directory import passwords
from idp.directory.accounts import PROFILE_FIELDS, update_profile
from idp.platform.clock import current_time
from idp.platform.urls import external_url
from idp.web.sso import client_info, login_required

bp = Blueprint("portal", __name__)


@bp.route("/")
@login_required
def home():
    """The tiles, and the company's own login URL (bookmarkable: it never asks which company)."""
    return render_template("portal/home.html", tiles=apps.tiles_for(g.account),
                           company_login=external_url(f"/t/{g.account.tenant.slug}/login"))


@bp.route("/profile")
@login_required
def profile():
    return render_template("portal/profile.html", profile=_profile_values(g.account))


@bp.route("/profile/edit", methods=["GET", "POST"])
@login_required
def profile_edit():
    form = ProfileForm(obj=g.account)
    errors = {}
    if form.validate_on_submit():
        saved = save(lambda: update_profile(g.account, now=current_time(), client=client_info(),
                                            **{key: getattr(form, key).data for key in PROFILE_FIELDS}),
                     _l("プロフィールを更新しました。"))
        if saved.ok:
            return redirect(url_for("portal.profile"))
        errors = saved.errors
    return render_template("portal/profile_edit.html", form=form, errors=errors,
                           profile=_profile_values(g.account))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordChangeForm()
    errors = {}
    if form.validate_on_submit():
        saved = save(lambda: change_password(g.account, current=form.current_password.data, new=form.password.data,
                                             confirm=form.password_confirm.data, now=current_time(),
                                             keep_session_id=g.sso_session.id, client=client_info()),
                     _l("パスワードを変更しました。"),
                     on_invalid=COMMIT)  # a wrong current password counts towards the lockout
        if saved.ok:
            return redirect(url_for("portal.profile"))
        errors = saved.errors
    return render_template("portal/password.html", form=form, errors=errors,
                           password_rules=passwords.rules(g.account.email))


def _profile_values(account):
    return {
        "email": account.email,
        "company": account.tenant.company_name,
        "name": account.name,
        "phone": account.phone,
        "mobile": account.mobile,
        "organization": account.organization,
        "department": account.department,
        "previous_login_at": account.previous_login_at,
    }
