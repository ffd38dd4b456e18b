"""The contract page, hand-over (契約者の切り替え), CSV exports and termination (利用終了)."""
from flask import Response, abort, current_app, flash, g, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l

from admin_ui.contract import bp, clear_owner_cookie, owner_required
from admin_ui.contract.forms import HandoverForm, TerminateForm
from admin_ui.link_pages import set_password_page
from admin_ui.saving import COMMIT, save
from idp.owners import contract
from idp.platform.clock import current_time
from idp.platform.extensions import db
from idp.tenancy import lifecycle as tenant_lifecycle
from idp.web.sso import client_info


@bp.route("/")
@owner_required
def home():
    return render_template("contract/home.html", info=contract.summary(g.owner))


@bp.route("/handover", methods=["GET", "POST"])
@owner_required
def handover():
    form = HandoverForm()
    errors = {}
    if form.validate_on_submit():
        saved = save(lambda: contract.request_handover(g.owner, email=form.email.data, name=form.name.data,
                                                       now=current_time(), client=client_info()), on_invalid=None)
        if saved.ok:
            flash(_l("%(email)s に契約者の切り替えのご案内を送信しました。", email=saved.value), "info")
            return redirect(url_for("contract.home"))
        errors = saved.errors
    return render_template("contract/handover.html", form=form, errors=errors)


@bp.route("/handover/<token>", methods=["GET", "POST"])
def accept_handover(token):
    return set_password_page(
        token, find=contract.handover_offer, apply=contract.accept_handover,
        template="contract/handover_accept.html", invalid_template="contract/link_invalid.html",
        done_message=_l("契約者の切り替えが完了しました。ログインしてください。"),
        done=lambda: clear_owner_cookie(redirect(url_for("contract.login"))),
        context=lambda offer: {"offer": offer, "email": offer["email"]})


@bp.route("/export/<kind>.csv")
@owner_required
def export(kind):
    if kind not in contract.EXPORTS:
        abort(404)
    data = contract.export_csv(g.owner, kind, now=current_time(), client=client_info())
    db.session.commit()  # the audit event of the download
    filename = f"{g.owner.tenant.slug}-{kind}.csv"
    return Response(data, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.route("/terminate", methods=["GET", "POST"])
@owner_required
def terminate():
    form = TerminateForm()
    errors = {}
    if form.validate_on_submit():
        retention = tenant_lifecycle.retention_period(current_app.config["IDP_TENANT_RETENTION_DAYS"])
        saved = save(lambda: tenant_lifecycle.terminate(g.owner, password=form.password.data,
                                                        company_name=form.company_name.data, now=current_time(),
                                                        retention=retention, client=client_info()),
                     on_invalid=COMMIT)  # keep the failure count of a wrong password
        if saved.ok:
            return clear_owner_cookie(Response(render_template(
                "contract/terminated.html", company_name=saved.value.company_name, retention_days=retention.days)))
        errors = saved.errors
    return render_template("contract/terminate.html", form=form, errors=errors,
                           company_name=g.owner.tenant.company_name, exports=contract.EXPORTS)
