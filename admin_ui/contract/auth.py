"""Contract login and logout, the owner's activation and reset links, and the reset request."""
from flask import abort, current_app, flash, g, redirect, render_template, session, url_for
from flask_babel import lazy_gettext as _l

from admin_ui.auth import choice
from admin_ui.auth.forms import CompanyChoiceForm, ConfirmForm, LoginForm
from admin_ui.contract import bp, clear_owner_cookie, set_owner_cookie
from admin_ui.link_pages import set_password_page
from admin_ui.password_reset.forms import ForgotPasswordForm
from admin_ui.saving import save
from idp.directory import links
from idp.owners import accounts as owners
from idp.owners import federation as owner_federation
from idp.owners import sessions as owner_sessions
from idp.platform.clock import current_time
from idp.platform.extensions import db
from idp.web.sso import client_info

CHOICE_KEY = "owner_login_choice"
LOGIN_ERRORS = {
    owners.INVALID_CREDENTIALS: _l("メールアドレスまたはパスワードが正しくありません。"),
    owners.LOCKED: _l("ログインに連続で失敗したため、ロックされています。30分後に再度お試しください。"),
    owners.TENANT_TERMINATED: _l("ご契約が終了しているため、ログインできません。"),
}
LINK_PAGES = {
    links.OWNER_ACTIVATION: (_l("契約管理のパスワード設定"), _l("パスワードを設定しました。ログインしてください。")),
    links.OWNER_PASSWORD_RESET: (_l("契約管理のパスワード再設定"),
                                 _l("パスワードを再設定しました。新しいパスワードでログインしてください。")),
}


@bp.route("/login", methods=["GET", "POST"])
def login():
    if g.owner is not None:
        return redirect(url_for("contract.home"))
    form = LoginForm()
    error = None
    local = owner_federation.local_login_enabled(current_app.config)
    if form.validate_on_submit():
        if not local:
            abort(404)
        now = current_time()
        result = owners.authenticate(form.email.data, form.password.data, now=now, client=client_info())
        if result.choices:
            return offer_choice(result.choices, now)
        if result.ok:
            return signed_in(result.owner, now)
        db.session.commit()  # keep the login event and the failure count
        error = LOGIN_ERRORS[result.error]
    federation = owner_federation.UpstreamSettings.from_config(current_app.config) is not None
    return render_template("contract/login.html", form=form, error=error, federation=federation,
                           local_login=local)


def signed_in(owner, now):
    raw, _session = owner_sessions.start(owner, now, client_info())
    db.session.commit()
    return set_owner_cookie(redirect(url_for("contract.home")), raw)


def offer_choice(owners_found, now, protocol="password"):
    """The contracts of several companies opened: the owner picks one (as staff do, admin_ui/auth/choice.py)."""
    db.session.commit()  # an outdated hash rehashed, the events of refused ones
    choice.keep_choices(CHOICE_KEY, owners_found, now, protocol=protocol)
    return redirect(url_for("contract.choose"))


@bp.route("/login/choose", methods=["GET", "POST"], endpoint="choose")
def choose():
    now = current_time()
    pending = choice.pending_choice(CHOICE_KEY, now)
    if pending is None:
        flash(choice.EXPIRED, "error")
        return redirect(url_for("contract.login"))
    form = CompanyChoiceForm()
    if form.validate_on_submit():
        owner_id = choice.chosen_id(pending, form)
        session.pop(CHOICE_KEY)
        result = owners.choose(owner_id, now=now, client=client_info(), protocol=pending["protocol"])
        if result.ok:
            return signed_in(result.owner, now)
        db.session.commit()
        flash(LOGIN_ERRORS[result.error], "error")
        return redirect(url_for("contract.login"))
    return render_template("auth/choose.html", form=form, action=url_for("contract.choose"), remember=False,
                           choices=owners.companies(pending["ids"]))


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    form = ConfirmForm()
    if g.owner is None:
        return clear_owner_cookie(redirect(url_for("contract.login")))
    if form.validate_on_submit():
        owner_sessions.end(g.owner_session, current_time(), reason="logout")
        db.session.commit()
        flash(_l("ログアウトしました。"), "info")
        return clear_owner_cookie(redirect(url_for("contract.login")))
    return render_template("contract/logout.html", form=form)


@bp.route("/activate/<token>", methods=["GET", "POST"])
def activate(token):
    return _password_link(token, links.OWNER_ACTIVATION)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset(token):
    return _password_link(token, links.OWNER_PASSWORD_RESET)


def _require_local_login():
    """Password pages exist only while owners log in with a local password."""
    if not owner_federation.local_login_enabled(current_app.config):
        abort(404)


def _password_link(token, purpose):
    """Activation and reset links: the same page, the same rules, another purpose."""
    _require_local_login()
    title, done = LINK_PAGES[purpose]
    return set_password_page(
        token, find=lambda token, now: owners.owner_for_link(token, purpose, now),
        apply=lambda token, **values: owners.set_password_by_link(token, purpose, **values),
        template="_set_password.html", invalid_template="contract/link_invalid.html", done_message=done,
        done=lambda: clear_owner_cookie(redirect(url_for("contract.login"))),
        context=lambda owner: {"title": title, "email": owner.email})


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot():
    _require_local_login()
    form = ForgotPasswordForm()
    errors = {}
    if form.validate_on_submit():
        saved = save(lambda: owners.request_reset(form.email.data, now=current_time(), client=client_info()),
                     on_invalid=None)
        if saved.ok:
            return render_template("contract/reset_sent.html", email=form.email.data.strip())
        errors = saved.errors
    return render_template("contract/forgot.html", form=form, errors=errors)
