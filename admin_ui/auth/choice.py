"""The company's choice: an address whose password opened accounts in several tenants picks one.

Nothing about a company shows before the password was right for its account. The choices wait
5 minutes in the browser's signed form session, then the login starts over. A company the person
asked to remember (cookie `idp_company`, its tenant ID) is taken without asking; the tenant's own
login page (`/t/{tenant}/login`) never asks.
"""
from datetime import datetime, timedelta

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l

from admin_ui.auth import LOGIN_ERRORS, bp, go_on
from admin_ui.auth.forms import CompanyChoiceForm
from idp.authn import login as login_service
from idp.platform.clock import current_time
from idp.platform.extensions import db
from idp.web.sso import client_info

CHOICE_KEY = "login_choice"
COMPANY_COOKIE = "idp_company"
CHOICE_LIFETIME = timedelta(minutes=5)
REMEMBER_FOR = timedelta(days=365)
EXPIRED = _l("認証の有効期限が切れました。もう一度ログインしてください。")


def offer(choices, now, target):
    """The accounts the password opened: the remembered company's at once, else the choice page."""
    remembered = request.cookies.get(COMPANY_COOKIE)
    for account in choices:
        if remembered and account.tenant.slug == remembered:
            return go_on(login_service.proceed(account, now=now, client=client_info()), now, target)
    db.session.commit()  # an outdated hash rehashed, the failure events of the refused ones
    keep_choices(CHOICE_KEY, choices, now, next=target)
    return redirect(url_for("auth.choose"))


@bp.route("/login/choose", methods=["GET", "POST"], endpoint="choose")
def choose():
    now = current_time()
    pending = pending_choice(CHOICE_KEY, now)
    if pending is None:
        return _start_over(EXPIRED)
    form = CompanyChoiceForm()
    if form.validate_on_submit():
        account_id = chosen_id(pending, form)
        session.pop(CHOICE_KEY)
        result = login_service.choose(account_id, now=now, client=client_info())
        response = go_on(result, now, pending["next"])
        if response is None:
            return _start_over(LOGIN_ERRORS[result.error])
        if form.remember.data:
            response.set_cookie(COMPANY_COOKIE, result.account.tenant.slug, samesite="Lax", httponly=True,
                                max_age=int(REMEMBER_FOR.total_seconds()), secure=current_app.config["IDP_HTTPS"])
        return response
    return render_template("auth/choose.html", form=form, action=url_for("auth.choose"), remember=True,
                           choices=login_service.companies(pending["ids"]))


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
