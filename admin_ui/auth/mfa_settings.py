"""The signed-in user's own second factor: what is enrolled, new recovery codes, enrol again, and the
passkeys (registered and deleted through admin_ui/auth/passkeys.py)."""
from flask import abort, flash, g, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l

from admin_ui.auth import bp
from admin_ui.auth.forms import ConfirmForm
from admin_ui.auth.passkeys import may_register, passkey_rows
from idp.authn import second_factor
from idp.logs.audit import Actor
from idp.platform.clock import current_time
from idp.platform.extensions import db
from idp.web.sso import client_info, login_required


def _strong_session():
    """Changing the factor needs a session that was itself opened with it."""
    if "mfa" not in g.sso_session.amr.split():
        abort(403)


@bp.route("/mfa")
@login_required
def mfa_settings():
    return render_template("mfa/settings.html", status=second_factor.status(g.account),
                           can_change="mfa" in g.sso_session.amr.split(), passkeys=passkey_rows(g.account),
                           may_register_passkey=may_register())


@bp.route("/mfa/recovery-codes", methods=["POST"])
@login_required
def mfa_renew_recovery_codes():
    _strong_session()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    codes = second_factor.renew_recovery_codes(g.account, now=current_time(), client=client_info())
    db.session.commit()
    return render_template("auth/mfa_recovery_codes.html", codes=codes, next=url_for("auth.mfa_settings"),
                           renewed=True)


@bp.route("/mfa/reset", methods=["POST"])
@login_required
def mfa_reset_own():
    _strong_session()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    second_factor.reset_mfa(g.account, now=current_time(), actor=Actor.of_account(g.account), client=client_info())
    db.session.commit()
    flash(_l("二段階認証の設定を解除しました。次回ログイン時に設定し直してください。"), "info")
    return redirect(url_for("auth.mfa_settings"))
