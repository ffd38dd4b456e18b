"""Password reset: ask for a link by email, then set a new password through it.

GET/POST /password/forgot answers the same page whether or not the address is
registered; the mailed link leads to /password/reset/<token> (24 h, single use).
The rules (who gets a mail, what a reset ends) live in `idp.password_reset`.
"""
from flask import Blueprint, flash, g, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l

from idp import password_reset, ratelimit
from idp.clock import current_time
from idp.errors import ValidationError
from idp.extensions import db
from idp.web import clear_sso_cookie, client_info

from ..auth.forms import NewPasswordForm
from .forms import ForgotPasswordForm

bp = Blueprint("password_reset", __name__, url_prefix="/password")


@bp.route("/forgot", methods=["GET", "POST"])
def forgot():
    form = ForgotPasswordForm()
    errors = {}
    if form.validate_on_submit():
        try:
            password_reset.request_reset(form.email.data, now=current_time(), client=client_info())
        except ValidationError as exc:
            errors = exc.errors
        else:
            db.session.commit()  # the mail goes out after the commit
            return render_template("password_reset/sent.html", email=form.email.data.strip())
    return render_template("password_reset/forgot.html", form=form, errors=errors)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token):
    now = current_time()
    ratelimit.guard("link", client=client_info(), account=token, now=now)
    account = password_reset.account_for_reset(token, now)
    if account is None:
        return render_template("password_reset/link_invalid.html"), 410
    form = NewPasswordForm()
    errors = []
    if form.validate_on_submit():
        try:
            password_reset.reset_password(token, password=form.password.data,
                                          confirm=form.password_confirm.data, now=now, client=client_info(),
                                          browser_session=g.sso_session)
        except ValidationError as exc:
            errors = exc.errors.get("password", [])
        else:
            db.session.commit()
            flash(_l("パスワードを再設定しました。新しいパスワードでログインしてください。"), "info")
            return clear_sso_cookie(redirect(url_for("auth.login")))
    return render_template("password_reset/reset.html", form=form, email=account.email, errors=errors)
