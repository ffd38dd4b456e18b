"""The second factor after the password (idp/authn/second_factor.py holds the rules).

The browser keeps the half-done login's token in its form session; `/login/mfa`
is the one dispatcher: it sends the browser to the page of the current step,
and every step page returns to it when it is not (or no longer) the step.
"""
from functools import wraps

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l

from admin_ui.auth import LOGIN_ERRORS, bp, start_session
from admin_ui.auth.forms import CodeForm, ConfirmForm, MethodForm, PhoneForm
from admin_ui.saving import save
from idp.authn import second_factor
from idp.authn.mfa.sms import SmsNotSent, SmsThrottled
from idp.platform.clock import current_time
from idp.platform.extensions import db
from idp.platform.urls import safe_next
from idp.web.sso import client_info

PENDING_KEY = "mfa_login"
CODE_ERRORS = {second_factor.INVALID_CODE: _l("認証コードが正しくありません。"),
               second_factor.LOCKED: LOGIN_ERRORS[second_factor.LOCKED]}
STEP_ENDPOINTS = {second_factor.CHOOSE: "auth.mfa_choose", second_factor.TOTP_ENROL: "auth.mfa_totp",
                  second_factor.SMS_PHONE: "auth.mfa_phone", second_factor.SMS_SEND: "auth.mfa_sms",
                  second_factor.CODE: "auth.mfa_code", second_factor.PASSKEY_CHECK: "auth.mfa_code",
                  second_factor.PASSKEY_ENROL: "auth.mfa_passkey_enrol"}


def begin_second_factor(account, now, target):
    """Password accepted and MFA required: open the half-done login and go to its first step
    (the browser's previous half-done login, if any, ends)."""
    previous = second_factor.resolve(session.get(PENDING_KEY), now)
    if previous is not None:
        second_factor.cancel(previous, now)
    raw = second_factor.begin(account, now, target)
    db.session.commit()
    session[PENDING_KEY] = raw
    return redirect(url_for("auth.mfa_step"))


def pending_step(*steps):
    """The view needs a live half-done login (g.pending) at one of `steps`; otherwise go where it belongs."""
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            g.pending = second_factor.resolve(session.get(PENDING_KEY), current_time())
            if g.pending is None:
                session.pop(PENDING_KEY, None)
                flash(_l("認証の有効期限が切れました。もう一度ログインしてください。"), "error")
                return redirect(url_for("auth.login"))
            if steps and second_factor.step(g.pending) not in steps:
                return redirect(url_for("auth.mfa_step"))
            return view(*args, **kwargs)
        return wrapper
    return decorator


def _page(template, status=200, **values):
    return render_template(template, info=second_factor.describe(g.pending), **values), status


@bp.route("/login/mfa")
@pending_step()
def mfa_step():
    return redirect(url_for(STEP_ENDPOINTS[second_factor.step(g.pending)]))


@bp.route("/login/mfa/choose", methods=["GET", "POST"])
@pending_step(second_factor.CHOOSE)
def mfa_choose():
    form = MethodForm()
    if form.validate_on_submit():
        second_factor.choose(g.pending, form.method.data)
        db.session.commit()
        return redirect(url_for("auth.mfa_step"))
    return _page("auth/mfa_choose.html")


@bp.route("/login/mfa/totp", methods=["GET", "POST"])
@pending_step(second_factor.TOTP_ENROL)
def mfa_totp():
    enrolment = second_factor.totp_enrolment(g.pending, current_app.config["IDP_PRODUCT_NAME"])
    db.session.commit()  # the secret stays the same when the page is reloaded
    return _verify_code("auth/mfa_totp.html", enrolment=enrolment)


@bp.route("/login/mfa/code", methods=["GET", "POST"])
@pending_step(second_factor.CODE, second_factor.SMS_SEND, second_factor.PASSKEY_CHECK)
def mfa_code():
    """The code page; with a passkey also its button (passkeys.js), at PASSKEY_CHECK only that."""
    passkey_only = second_factor.step(g.pending) == second_factor.PASSKEY_CHECK
    if passkey_only and request.method == "POST":
        return redirect(url_for("auth.mfa_step"))
    if not passkey_only and not second_factor.accepts_code(g.pending):  # SMS being enrolled and nothing sent
        return redirect(url_for("auth.mfa_step"))
    return _verify_code("auth/mfa_code.html")


def _verify_code(template, **values):
    form = CodeForm()
    error = None
    if form.validate_on_submit():
        now = current_time()
        result = second_factor.verify(g.pending, form.code.data, now=now, client=client_info())
        if result.ok and not result.finished:  # the old factor is checked: enrol the new method
            db.session.commit()
            return redirect(url_for("auth.mfa_step"))
        if result.ok:
            session.pop(PENDING_KEY, None)
            target = safe_next(result.next_url)
            if result.recovery_codes:
                page = render_template("auth/mfa_recovery_codes.html", codes=result.recovery_codes, next=target)
                return start_session(g.pending.account, now, current_app.make_response(page), amr=result.amr)
            return start_session(g.pending.account, now, redirect(target), amr=result.amr)
        db.session.commit()  # keep the failure count and the login event
        error = CODE_ERRORS[result.error]
    return _page(template, error=error, **values)


@bp.route("/login/mfa/sms", methods=["GET", "POST"])
@pending_step(second_factor.SMS_SEND, second_factor.CODE)
def mfa_sms():
    if second_factor.describe(g.pending)["method"] != second_factor.SMS:
        return redirect(url_for("auth.mfa_step"))
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            second_factor.send_sms(g.pending, current_time())
        except (SmsThrottled, SmsNotSent) as exc:
            db.session.rollback()
            headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, SmsThrottled) else {}
            return (*_page("auth/mfa_sms.html", status=exc.status_code, error=exc.message), headers)
        db.session.commit()
        flash(_l("認証コードを送信しました。"), "info")
        return redirect(url_for("auth.mfa_code"))
    return _page("auth/mfa_sms.html")


@bp.route("/login/mfa/phone", methods=["GET", "POST"])
@pending_step(second_factor.SMS_PHONE, second_factor.SMS_SEND, second_factor.CODE)
def mfa_phone():
    if second_factor.describe(g.pending)["method"] != second_factor.SMS:
        return redirect(url_for("auth.mfa_step"))
    if not second_factor.describe(g.pending)["can_change_phone"]:
        return _page("auth/mfa_phone.html", status=403, errors={}, locked_number=True)
    form = PhoneForm()
    errors = {}
    if form.validate_on_submit():
        saved = save(lambda: second_factor.change_phone(g.pending, form.phone.data, form.phone_confirm.data),
                     on_invalid=None)
        if saved.ok:
            return redirect(url_for("auth.mfa_sms"))
        errors = saved.errors
    return _page("auth/mfa_phone.html", errors=errors, phone=form.phone.data or "")


@bp.route("/login/mfa/cancel", methods=["POST"])
def mfa_cancel():
    """Discard the half-done login and return to the login page."""
    form = ConfirmForm()
    if form.validate_on_submit():
        pending = second_factor.resolve(session.pop(PENDING_KEY, None), current_time())
        if pending is not None:
            second_factor.cancel(pending, current_time())
            db.session.commit()
    return redirect(url_for("auth.login"))
