"""Self-service sign-up (/signup): the form, the verification link, the confirmation.

Switched off with IDP_SIGNUP=closed (every page answers 404). The rules (rate
limits, the same answer for every address, no tenant before the link is used)
live in `idp.tenancy.signup`.
"""
from flask import Blueprint, abort, current_app, render_template

from admin_ui.saving import save
from admin_ui.signup.forms import SignupConfirmForm, SignupForm
from idp.platform import ratelimit
from idp.platform.clock import current_time
from idp.tenancy import signup
from idp.web.sso import client_info

bp = Blueprint("signup", __name__, url_prefix="/signup")


@bp.before_request
def signup_must_be_open():
    if current_app.config.get("IDP_SIGNUP", "open") != "open":
        abort(404)


@bp.route("", methods=["GET", "POST"])
def form():
    form = SignupForm()
    errors = {}
    if form.validate_on_submit():
        saved = save(lambda: signup.request_signup(
            company_name=form.company_name.data, owner_name=form.owner_name.data, owner_email=form.owner_email.data,
            admin_email=form.admin_email.data, agreed=form.agreed.data, now=current_time(), client=client_info()),
            on_invalid=None)
        if saved.ok:
            return render_template("signup/sent.html", email=form.owner_email.data.strip())
        errors = saved.errors
    return render_template("signup/form.html", form=form, errors=errors,
                           terms_url=current_app.config["IDP_TERMS_URL"])


@bp.route("/verify/<token>", methods=["GET", "POST"])
def verify(token):
    now = current_time()
    ratelimit.guard("link", client=client_info(), account=token, now=now)
    pending = signup.pending_for_link(token, now)
    if pending is None:
        return render_template("signup/link_invalid.html"), 410
    form = SignupConfirmForm()
    errors = {}
    if form.validate_on_submit():
        # the service-start mail goes out after save's commit
        saved = save(lambda: signup.complete_signup(token, slug=form.slug.data, admin_email=form.admin_email.data,
                                                    admin_name=form.admin_name.data, now=now,
                                                    client=client_info()), on_invalid=None)
        if saved.ok:
            return render_template("signup/done.html", **signup.start_page_values(saved.value))
        errors = saved.errors
    else:
        form.slug.data = signup.suggested_slug(pending.company_name, pending.owner_email)
        form.admin_email.data = pending.admin_email
    values = signup.confirm_page_values(pending, slug=form.slug.data, admin_email=form.admin_email.data)
    return render_template("signup/confirm.html", form=form, errors=errors, **values)
