"""Password reset: ask for a link by email, then set a new password through it.

GET/POST /password/forgot answers the same page whether or not the address is
registered; the mailed link leads to /password/reset/<token> (24 h, single use).
The rules (who gets a mail, what a reset ends) live in `idp.authn.password_reset`.
"""
from flask import Blueprint, g, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l

from admin_ui.link_pages import set_password_page
from admin_ui.password_reset.forms import ForgotPasswordForm
from admin_ui.saving import save
from idp.authn import password_reset
from idp.platform.clock import current_time
from idp.web.sso import clear_sso_cookie, client_info

bp = Blueprint("password_reset", __name__, url_prefix="/password")


@bp.route("/forgot", methods=["GET", "POST"])
def forgot():
    form = ForgotPasswordForm()
    errors = {}
    if form.validate_on_submit():
        # the mail goes out after save's commit
        saved = save(lambda: password_reset.request_reset(form.email.data, now=current_time(), client=client_info()),
                     on_invalid=None)
        if saved.ok:
            return render_template("password_reset/sent.html", email=form.email.data.strip())
        errors = saved.errors
    return render_template("password_reset/forgot.html", form=form, errors=errors)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token):
    def apply(token, **values):
        password_reset.reset_password(token, browser_session=g.sso_session, **values)
    return set_password_page(
        token, find=password_reset.account_for_reset, apply=apply, template="password_reset/reset.html",
        invalid_template="password_reset/link_invalid.html",
        done_message=_l("パスワードを再設定しました。新しいパスワードでログインしてください。"),
        done=lambda: clear_sso_cookie(redirect(url_for("auth.login"))),
        context=lambda account: {"email": account.email})
