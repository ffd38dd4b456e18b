"""The company's choice: an address whose password opened accounts in several tenants picks one.

Nothing about a company shows before its account is authenticated: the password, and the second
factor where its policy requires one and one is enrolled (`/login/choose/code` first, naming no
company: idp/authn/code_before_choice.py). The choices wait 5 minutes in the browser's signed form
session, then the login starts over. A company the person asked to remember (cookie `idp_company`,
its tenant ID) is taken without asking, with its own second factor; the tenant's own login page
(`/t/{tenant}/login`) never asks.
"""
from datetime import datetime, timedelta
from functools import wraps

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l

from admin_ui.auth import LOGIN_ERRORS, bp, go_on, start_session
from admin_ui.auth.forms import CodeForm, CompanyChoiceForm, ConfirmForm
from admin_ui.auth.mfa_views import CODE_ERRORS, PENDING_KEY
from idp.authn import code_before_choice
from idp.authn import login as login_service
from idp.authn.mfa.sms import SmsNotSent, SmsThrottled
from idp.platform.clock import current_time
from idp.platform.extensions import db
from idp.platform.urls import safe_next
from idp.web.sso import client_info

CHOICE_KEY = "login_choice"
COMPANY_COOKIE = "idp_company"
CHOICE_LIFETIME = timedelta(minutes=5)
REMEMBER_FOR = timedelta(days=365)
EXPIRED = _l("認証の有効期限が切れました。もう一度ログインしてください。")


def offer(choices, now, target):
    """The accounts the password opened: the remembered company's at once, else the code page when
    some company waits for its second factor, else the choice page."""
    remembered = request.cookies.get(COMPANY_COOKIE)
    for account in choices:
        if remembered and account.tenant.slug == remembered:
            return go_on(login_service.proceed(account, now=now, client=client_info()), now, target)
    waiting = [account.id for account in code_before_choice.guarded(choices)]
    db.session.commit()  # an outdated hash rehashed, the failure events of the refused ones
    keep_choices(CHOICE_KEY, choices, now, next=target, waiting=waiting, verified={}, sms_since=None)
    return redirect(url_for("auth.choose_code" if waiting else "auth.choose"))


def with_choice(view):
    """The view gets the browser's live choice and the time; an expired or missing one starts over."""
    @wraps(view)
    def wrapper():
        now = current_time()
        pending = pending_choice(CHOICE_KEY, now)
        return _start_over(EXPIRED) if pending is None else view(pending, now)
    return wrapper


@bp.route("/login/choose", methods=["GET", "POST"], endpoint="choose")
@with_choice
def choose(pending, now):
    if pending.get("waiting"):
        return redirect(url_for("auth.choose_code"))
    form = CompanyChoiceForm()
    if form.validate_on_submit():
        return _go_on_with(chosen_id(pending, form), pending, now, form.remember.data)
    return render_template("auth/choose.html", form=form, action=url_for("auth.choose"), remember=True,
                           choices=login_service.companies(pending["ids"]))


@bp.route("/login/choose/code", methods=["GET", "POST"], endpoint="choose_code")
@with_choice
def choose_code(pending, now):
    """The second factor of the companies that require one, before any company is named."""
    if not pending.get("waiting"):
        return redirect(url_for("auth.choose"))
    guarded = code_before_choice.accounts(pending["waiting"])
    form, error, status = CodeForm(), None, 200
    if form.validate_on_submit():
        since = datetime.fromisoformat(pending["sms_since"]) if pending["sms_since"] else None
        accepted, failure = code_before_choice.verify(guarded, form.code.data, now=now, client=client_info(),
                                                      sms_since=since)
        db.session.commit()  # the spent code, or the failure counts and login events
        if not failure:
            return _offer_verified(pending, accepted, now)
        error, status = CODE_ERRORS[failure], 400
    ready = [i for i in pending["ids"] if i not in pending["waiting"]]
    return render_template("auth/choose_code.html", form=form, error=error, can_skip=bool(ready),
                           numbers=code_before_choice.masked_numbers(guarded)), status


@bp.route("/login/choose/code/sms", methods=["POST"], endpoint="choose_code_sms")
@with_choice
def choose_code_sms(pending, now):
    if ConfirmForm().validate_on_submit() and pending.get("waiting"):
        try:
            code_before_choice.send_sms(code_before_choice.accounts(pending["waiting"]), now)
        except (SmsThrottled, SmsNotSent) as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return redirect(url_for("auth.choose_code"))
        db.session.commit()
        session[CHOICE_KEY] = {**pending, "sms_since": pending["sms_since"] or now.isoformat()}
        flash(_l("認証コードを送信しました。"), "info")
    return redirect(url_for("auth.choose_code"))


@bp.route("/login/choose/skip", methods=["POST"], endpoint="choose_skip")
@with_choice
def choose_skip(pending, now):
    """Go on without the code: only the companies that need none are offered."""
    if ConfirmForm().validate_on_submit():
        return _offer_verified(pending, {}, now)
    return redirect(url_for("auth.choose_code"))


def _offer_verified(pending, accepted, now):
    """The ready companies and those whose factor accepted the code: one goes on at once, several are offered."""
    ids = [i for i in pending["ids"] if i not in pending["waiting"] or i in accepted]
    if not ids:
        return _start_over(EXPIRED)
    verified = {**pending["verified"], **{str(i): kind for i, kind in accepted.items()}}
    pending = session[CHOICE_KEY] = {**pending, "ids": ids, "waiting": [], "verified": verified}
    if len(ids) == 1:
        return _go_on_with(ids[0], pending, now, remember=False)
    return redirect(url_for("auth.choose"))


def _go_on_with(account_id, pending, now, remember):
    """Sign in to the chosen company's account (its second factor now, unless it was checked before)."""
    session.pop(CHOICE_KEY, None)
    client = client_info()
    kind = pending.get("verified", {}).get(str(account_id))
    result = login_service.chosen(account_id, now=now, client=client)
    if result.error is None and kind is not None:
        amr, half_done = code_before_choice.finish(result.account, kind, now=now, client=client,
                                                   next_url=pending["next"])
        if half_done:  # the policy asks for another method: enrol it now
            db.session.commit()
            session[PENDING_KEY] = half_done
            response = redirect(url_for("auth.mfa_step"))
        else:
            response = start_session(result.account, now, redirect(safe_next(pending["next"])), amr=amr)
    else:
        if result.error is None:
            result = login_service.proceed(result.account, now=now, client=client)
        response = go_on(result, now, pending["next"])
    if response is None:
        return _start_over(LOGIN_ERRORS[result.error])
    if remember:
        response.set_cookie(COMPANY_COOKIE, result.account.tenant.slug, samesite="Lax", httponly=True,
                            max_age=int(REMEMBER_FOR.total_seconds()), secure=current_app.config["IDP_HTTPS"])
    return response


def pending_choice(key, now):
    """The choices a login left in the form session under `key` (ids, next, until), or None once expired."""
    pending = session.get(key)
    if not isinstance(pending, dict) or datetime.fromisoformat(pending["until"]) <= now:
        session.pop(key, None)
        return None
    return pending


def keep_choices(key, records, now, **values):
    session[key] = {"ids": [record.id for record in records], "until": (now + CHOICE_LIFETIME).isoformat(),
                    **values}


def chosen_id(pending, form):
    """The id the person picked, if it is one of those offered (else 400)."""
    chosen = next((i for i in pending["ids"] if str(i) == form.account.data), None)
    if chosen is None:
        abort(400)
    return chosen


def _start_over(message):
    flash(message, "error")
    return redirect(url_for("auth.login"))
