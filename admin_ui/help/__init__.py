"""Help for people who cannot log in (ログイン編 5 問い合わせ): the FAQ of the manuals and an inquiry form that
mails the operator, at /help and /t/<tenant>/help; and /favicon.ico.

Every page's help link (`help_url` of the base layout) leads here unless the operator set IDP_HELP_URL:
on a tenant's login page and for a signed-in user it is the tenant's own help page, which names the company.
The form is shown only when IDP_SUPPORT_EMAIL is set; it is rate-limited per client IP and per address and
mails the operator after the commit (idp.platform.mail), whatever the address: nothing is looked up.
"""
import os

from flask import (Blueprint, abort, current_app, flash, g, has_request_context, redirect, render_template, request,
                   send_from_directory, url_for)
from flask_babel import lazy_gettext as _l

from admin_ui.help.forms import InquiryForm
from idp.authn import lockout
from idp.directory.links import ACTIVATION, KINDS, PASSWORD_RESET
from idp.platform import ratelimit
from idp.platform.extensions import db
from idp.platform.mail import build_message, send_after_commit
from idp.web.sso import client_info
from idp.web.tenant_urls import tenant_from_url

bp = Blueprint("help", __name__)
STATIC = os.path.join(os.path.dirname(os.path.dirname(__file__)), "static")
# An inquiry mails the operator on an anonymous visitor's request: limited per IP and per sender address
# (IDP_RATELIMIT_INQUIRY_*).
RATE_LIMIT_KIND = "inquiry"


@bp.route("/help", methods=["GET", "POST"])
def page():
    return help_page(None)


@bp.route("/t/<tenant_slug>/help", methods=["GET", "POST"], endpoint="tenant_page")
def tenant_page(tenant_slug):
    """The tenant's help page: the form knows the company (404 for an unknown or terminated tenant)."""
    return help_page(tenant_from_url({"tenant_slug": tenant_slug}))


def help_page(tenant):
    support = current_app.config.get("IDP_SUPPORT_EMAIL") or ""
    form = InquiryForm()
    if request.method == "POST":
        if not support:
            abort(404)
        if form.validate_on_submit():
            ratelimit.hit(RATE_LIMIT_KIND, ip=client_info().ip, account=form.email.data)
            send_inquiry(support, form, tenant)
            db.session.commit()
            flash(_l("お問い合わせを受け付けました。担当者からメールでご連絡します。"), "info")
            return redirect(_page_url(tenant))  # at its top, where the message is
    elif g.get("account") is not None:
        form.prefill(g.account.name, g.account.email, g.account.tenant.company_name)
    elif tenant is not None:
        form.prefill("", "", tenant.company_name)
    return render_template("help/page.html", form=form, errors=form.errors if request.method == "POST" else {},
                           tenant=tenant, page_url=_page_url(tenant), support=bool(support), facts=_facts())


def _page_url(tenant):
    return url_for("help.tenant_page", tenant_slug=tenant.slug) if tenant is not None else url_for("help.page")


def send_inquiry(support, form, tenant):
    """Queue the mail to the operator (sent when the request's transaction commits); replies go to the sender."""
    account = g.get("account")
    message = build_message(
        support, "support_inquiry", name=form.name.data, email=form.email.data, company=form.company.data,
        body=form.message.data, tenant_slug=tenant.slug if tenant is not None else "",
        signed_in=f"{account.email} ({account.tenant.slug})" if account is not None else "")
    message["Reply-To"] = form.email.data
    send_after_commit(db.session, message)


def _facts():
    """The numbers the FAQ quotes, from the rules themselves."""
    return {"failures": lockout.MAX_FAILURES, "lock_minutes": int(lockout.LOCK_PERIOD.total_seconds() // 60),
            "activation_hours": int(KINDS[ACTIVATION].lifetime.total_seconds() // 3600),
            "reset_hours": int(KINDS[PASSWORD_RESET].lifetime.total_seconds() // 3600)}


@bp.route("/favicon.ico")
def favicon():
    """Browsers ask every site for it; admin_ui/static/favicon.ico (cached for a day)."""
    return send_from_directory(STATIC, "favicon.ico", mimetype="image/vnd.microsoft.icon", max_age=86400)


@bp.app_context_processor
def _help_link():
    """The base layout's help link: the operator's IDP_HELP_URL, otherwise this help page, the tenant's own one on
    a /t/<tenant>/ page and for a signed-in user. (Registered after idp.web.layout's values, so it wins.)"""
    configured = current_app.config.get("IDP_HELP_URL") or ""
    if configured or not has_request_context():
        return {"help_url": configured} if configured else {}
    slug = (request.view_args or {}).get("tenant_slug")
    account = g.get("account")
    if slug is None and account is not None:
        slug = account.tenant.slug
    return {"help_url": url_for("help.tenant_page", tenant_slug=slug) if slug else url_for("help.page")}
