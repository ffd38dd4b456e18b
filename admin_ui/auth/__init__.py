"""Login, logout (with confirmation), activation links and the language switch."""
from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l

from admin_ui.auth.forms import ConfirmForm, LoginForm
from admin_ui.link_pages import LOGIN_EMAIL, set_password_page
from idp.authn import login as login_service
from idp.authn import sessions
from idp.directory import accounts
from idp.directory.account_state import DISABLED, EXPIRED, NOT_ACTIVATED, NOT_YET_VALID, TENANT_TERMINATED
from idp.platform.clock import current_time
from idp.platform.extensions import db
from idp.platform.urls import safe_next
from idp.saml import logout as saml_logout
from idp.web.sso import clear_sso_cookie, client_info, record_fresh_login, set_sso_cookie
from idp.web.tenant_urls import tenant_from_url

bp = Blueprint("auth", __name__)
OFFER_PASSKEY = "offer_passkey"  # the form session's note that an activation just finished

UNAVAILABLE = _l("このアカウントは現在ご利用いただけません。管理者にお問い合わせください。")
LOGIN_ERRORS = {
    login_service.INVALID_CREDENTIALS: _l("メールアドレスまたはパスワードが正しくありません。"),
    login_service.LOCKED: _l("ログインに連続で失敗したため、このアカウントはロックされています。"
                             "30分後に再度ログインをお試しいただくか、管理者にロック解除をご依頼ください。"),
    DISABLED: UNAVAILABLE,
    NOT_YET_VALID: UNAVAILABLE,
    EXPIRED: UNAVAILABLE,
    NOT_ACTIVATED: _l("初回ログインが完了していません。登録通知メールのリンクからパスワードを設定してください。"),
    TENANT_TERMINATED: _l("ご契約が終了しているため、ログインできません。"),
}


@bp.route("/login", methods=["GET", "POST"])
def login():
    """`next` resumes a pending request (local paths only); `login_hint` pre-fills the email;
    `reauth=1` asks for the password even with a live session (OIDC prompt=login / max_age,
    SAML ForceAuthn: the login records the marker `next` carries, idp.web.sso). An address with accounts
    in several tenants picks the company after its password (choice.py)."""
    return login_page(None)


@bp.route("/t/<tenant_slug>/login", methods=["GET", "POST"], endpoint="tenant_login")
def tenant_login(tenant_slug):
    """The tenant's own login page (the protocols of /t/{tenant}/ send browsers here): it signs in that
    tenant's account only, and says which company."""
    return login_page(tenant_from_url({"tenant_slug": tenant_slug}))


def login_page(tenant):
    form = LoginForm(next=request.args.get("next", ""))
    target = safe_next(form.next.data)
    if request.method == "GET":
        signed_in_here = g.account is not None and (tenant is None or g.account.tenant_id == tenant.id)
        if signed_in_here and request.args.get("reauth") != "1":
            return redirect(target)
        form.email.data = (request.args.get("login_hint", "")[:254] or session.pop(LOGIN_EMAIL, "")
                           or (g.account.email if g.account else ""))
    offer_passkey = request.method == "GET" and session.pop(OFFER_PASSKEY, False)
    if offer_passkey and not form.next.data:  # the first login goes on to the passkey registration
        form.next.data = url_for("auth.mfa_settings") + "#passkeys"
    error = None
    if form.validate_on_submit():
        now = current_time()
        result = login_service.authenticate(form.email.data, form.password.data, now=now, client=client_info(),
                                            tenant=tenant)
        if result.choices:
            return choice.offer(result.choices, now, target)
        response = go_on(result, now, target)
        if response is not None:
            return response
        error = LOGIN_ERRORS[result.error]
    action = url_for("auth.tenant_login", tenant_slug=tenant.slug) if tenant else url_for("auth.login")
    passkey_urls = ({"options": url_for("auth.tenant_passkey_login_options", tenant_slug=tenant.slug),
                     "submit": url_for("auth.tenant_passkey_login", tenant_slug=tenant.slug)} if tenant else
                    {"options": url_for("auth.passkey_login_options"), "submit": url_for("auth.passkey_login")})
    return render_template("auth/login.html", form=form, error=error, tenant=tenant, action=action,
                           passkey_urls=passkey_urls, offer_passkey=offer_passkey)


def go_on(result, now, target):
    """After the password (or the company's choice): the second factor, the session, or None (an error
    to show; the login events and failure counts are kept)."""
    if result.second_factor:
        return begin_second_factor(result.account, now, target)
    if result.ok:
        return start_session(result.account, now, redirect(target))
    db.session.commit()
    return None


def start_session(account, now, response, amr=("pwd",), returning_to=None):
    """Sign the browser in (SSO cookie on `response`); `amr` says how (pwd, otp/sms, hwk/swk, mfa);
    `returning_to`: where a JSON answer (passkeys) sends the browser."""
    returning_to = returning_to or response.location or getattr(g.get("pending"), "next_url", None)
    if g.sso_session is not None:  # the browser's previous session ends: the session id rotates
        sessions.end(g.sso_session, now, reason="replaced")
    raw, started = sessions.start(account, now, client_info(), amr=amr)
    sid = started.sid
    db.session.commit()
    session.clear()  # fresh form session (and CSRF token) for the signed-in user
    record_fresh_login(returning_to, sid)  # the protocol request waiting for this login (its marker)
    return set_sso_cookie(response, raw)


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    form = ConfirmForm()
    if g.account is None:
        return clear_sso_cookie(redirect(url_for("auth.login")))
    if form.validate_on_submit():
        ended = g.sso_session
        sessions.end(ended, current_time(), reason="logout")
        db.session.commit()
        flash(_l("ログアウトしました。"), "info")
        # the SAML apps of the session get LogoutRequests first (front channel, never blocking)
        return clear_sso_cookie(redirect(saml_logout.after_logout_url(ended, url_for("auth.login"))))
    return render_template("auth/logout.html", form=form)


@bp.route("/activate/<token>", methods=["GET", "POST"])
def activate(token):
    return set_password_page(
        token, find=accounts.account_for_activation, apply=accounts.activate, template="auth/activate.html",
        invalid_template="auth/link_invalid.html", done_message=_l("パスワードを設定しました。ログインしてください。"),
        done=_after_activation, context=lambda account: {"email": account.email})


def _after_activation():
    """The password is set: the login page next, which offers the passkey registration after it."""
    session[OFFER_PASSKEY] = True
    return redirect(url_for("auth.login"))


@bp.route("/lang/<code>")
def set_language(code):
    response = redirect(safe_next(request.args.get("next")))
    if code in ("ja", "en"):
        response.set_cookie("lang", code, max_age=365 * 24 * 3600, samesite="Lax",
                            secure=current_app.config["IDP_HTTPS"], httponly=True)
    return response


from admin_ui.auth import choice  # noqa: E402  (the company's choice after the password, /login/choose)
from admin_ui.auth import mfa_settings  # noqa: E402,F401  (the user's own factor, /mfa)
from admin_ui.auth.mfa_views import begin_second_factor  # noqa: E402  (routes of the second factor on `bp`)
from admin_ui.auth import passkeys  # noqa: E402,F401  (passkeys: /mfa/passkeys, /login/passkey, /mfa/passkey)
