"""Accounts as CSV: the template, the export (ticked rows or the whole search), the two-step import.

Import: upload -> the whole file is validated and either an error table or a summary is shown;
the admin then applies it (one transaction) or discards it ("ファイル削除").
"""
from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from admin_ui.admin import bp, uploads
from admin_ui.admin.access import admin_required, audit_context, selected_ids
from admin_ui.admin.forms import ConfirmForm, CsvUploadForm
from idp.console import account_csv, account_search
from idp.platform.clock import current_time
from idp.platform.extensions import db

MAX_UPLOAD_BYTES = 1024 * 1024


def _csv_response(data, filename):
    return Response(data, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.route("/accounts/csv-template")
@admin_required
def accounts_csv_template():
    return _csv_response(account_csv.template(), "accounts_template.csv")


@bp.route("/accounts/export", methods=["GET", "POST"])
@admin_required
def accounts_export():
    """GET: every account matching the search; POST: the ticked rows (CSRF-checked)."""
    ids = None
    if request.method == "POST":
        if not ConfirmForm().validate_on_submit():
            abort(400)
        ids = selected_ids() or None
    now = current_time()
    filters = account_search.AccountFilter.from_args(request.args)
    rows = account_search.matching_accounts(g.tenant, filters, now, ids=ids)
    actor, client = audit_context()
    data = account_csv.export_for_admin(g.tenant, rows, now=now, actor=actor, client=client)
    db.session.commit()
    return _csv_response(data, "accounts.csv")


@bp.route("/accounts/import", methods=["GET", "POST"])
@admin_required
def accounts_import():
    form = CsvUploadForm()
    error = None
    if form.validate_on_submit():
        data = form.file.data.read(MAX_UPLOAD_BYTES + 1) if form.file.data else b""
        if not data:
            error = _l("CSVファイルを選択してください。")
        elif len(data) > MAX_UPLOAD_BYTES:
            error = _l("ファイルが大きすぎます。")
        else:
            token = uploads.save(g.account, data)
            return redirect(url_for("admin.accounts_import_review", token=token))
    return render_template("admin/accounts/import.html", form=form, error=error)


@bp.route("/accounts/import/<token>")
@admin_required
def accounts_import_review(token):
    plan = _plan(token)
    return render_template("admin/accounts/import_review.html", form=ConfirmForm(), token=token,
                           errors=plan.errors, counts=plan.counts(), max_rows=account_csv.MAX_ROWS)


@bp.route("/accounts/import/<token>/apply", methods=["POST"])
@admin_required
def accounts_import_apply(token):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    plan = _plan(token)  # validated again: the accounts may have changed since the upload
    if plan.errors:
        return redirect(url_for("admin.accounts_import_review", token=token))
    actor, client = audit_context()
    counts = account_csv.apply_plan(g.tenant, plan, now=current_time(), actor=actor, client=client)
    db.session.commit()
    uploads.discard(g.account, token)
    flash(_l("CSVを取り込みました（登録 %(create)d件、更新 %(update)d件、削除 %(delete)d件）。", **counts), "info")
    return redirect(url_for("admin.accounts"))


@bp.route("/accounts/import/<token>/discard", methods=["POST"])
@admin_required
def accounts_import_discard(token):
    if ConfirmForm().validate_on_submit():
        uploads.discard(g.account, token)
        flash(_l("アップロードしたファイルを削除しました。"), "info")
    return redirect(url_for("admin.accounts_import"))


def _plan(token):
    data = uploads.load(g.account, token)
    if data is None:
        abort(404)
    return account_csv.read_plan(g.tenant, data, acting_account_id=g.account.id)
