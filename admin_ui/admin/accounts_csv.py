"""Accounts as CSV: the template and a sample, the export (ticked rows or the whole search), the two-step import.

Import: upload -> the whole file is validated and either an error table or a review is shown (the counts,
and what each row changes); the admin then applies it (one transaction) or discards it ("ファイル削除",
after a confirmation).
"""
from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from admin_ui.admin import bp, uploads
from admin_ui.admin.access import admin_required, audit_context, selected_ids
from admin_ui.admin.forms import ConfirmForm, CsvUploadForm
from idp.console import account_csv, account_search
from idp.platform.clock import current_time, local_date
from idp.platform.extensions import db

MAX_UPLOAD_BYTES = 1024 * 1024


def _csv_response(data, filename):
    return Response(data, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.route("/accounts/csv-template")
@admin_required
def accounts_csv_template():
    return _csv_response(account_csv.template(), "accounts_template.csv")


@bp.route("/accounts/csv-sample")
@admin_required
def accounts_csv_sample():
    return _csv_response(account_csv.sample(g.tenant, local_date(current_time())), "accounts_sample.csv")


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
        chosen = form.file.data is not None and bool(form.file.data.filename)
        data = form.file.data.read(MAX_UPLOAD_BYTES + 1) if chosen else b""
        if not chosen:
            error = _l("CSVファイルを選択してください。")
        elif len(data) > MAX_UPLOAD_BYTES:
            error = _l("ファイルが大きすぎます。")
        elif account_csv.has_no_rows(data):
            error = _l("ファイルが空です。見出し行の次の行から、1行に1アカウントを記入してください。")
        else:
            token = uploads.save(g.account, data)
            return redirect(url_for("admin.accounts_import_review", token=token))
    return render_template("admin/accounts/import.html", form=form, error=error, columns=account_csv.COLUMNS)


@bp.route("/accounts/import/<token>")
@admin_required
def accounts_import_review(token):
    plan = _plan(token)
    return render_template("admin/accounts/import_review.html", form=ConfirmForm(), token=token,
                           errors=plan.errors, counts=plan.counts(), operations=plan.changing())


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
    flash(_l("CSVを取り込みました（登録 %(create)d件、更新 %(update)d件、削除 %(delete)d件、変更なし %(unchanged)d件）。",
             **counts), "info")
    return redirect(url_for("admin.accounts"))


@bp.route("/accounts/import/<token>/discard", methods=["POST"])
@admin_required
def accounts_import_discard(token):
    """The first POST asks; the second (confirm=1, from that page) discards the upload."""
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("admin.accounts_import"))
    if request.form.get("confirm") != "1":
        if uploads.load(g.account, token) is None:
            abort(404)
        return render_template(
            "admin/confirm.html", title=_l("ファイル削除"), button=_l("削除する"),
            question=_l("アップロードしたファイルを削除します。ファイルの内容は取り込まれません。よろしいですか？"),
            action=url_for("admin.accounts_import_discard", token=token),
            cancel_url=url_for("admin.accounts_import_review", token=token))
    uploads.discard(g.account, token)
    flash(_l("アップロードしたファイルを削除しました。"), "info")
    return redirect(url_for("admin.accounts_import"))


def _plan(token):
    data = uploads.load(g.account, token)
    if data is None:
        abort(404)
    return account_csv.read_plan(g.tenant, data, acting_account_id=g.account.id)
