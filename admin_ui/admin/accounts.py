"""Accounts: search list, create, detail, edit (unlock, re-send activation), delete one or many."""
from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from admin_ui.admin import bp
from admin_ui.admin.access import admin_required, audit_context
from admin_ui.admin.bulk_delete import bulk_delete
from admin_ui.admin.forms import AccountForm, ConfirmForm
from admin_ui.admin.listing import render_search
from admin_ui.saving import save
from idp.authn import lockout, second_factor
from idp.console import account_search
from idp.console import accounts as console_accounts
from idp.console.accounts import AccountFields
from idp.console.groups import group_choices
from idp.directory.accounts import resend_activation
from idp.platform.clock import current_time, local_date
from idp.platform.errors import ValidationError
from idp.platform.extensions import db


@bp.route("/")
@admin_required
def home():
    return redirect(url_for("admin.accounts"))


@bp.route("/accounts")
@admin_required
def accounts():
    return render_search("admin/accounts/list.html", account_search.AccountFilter, account_search.search,
                         current_time(), groups=group_choices(g.tenant), form=ConfirmForm())


@bp.route("/accounts/new", methods=["GET", "POST"])
@admin_required
def account_new():
    form = AccountForm()
    if request.method == "GET":
        form.fill(AccountFields(valid_from=local_date(current_time())))
    return _account_form(form, None)


@bp.route("/accounts/<int:account_id>")
@admin_required
def account_detail(account_id):
    now = current_time()
    account = console_accounts.get_account(g.tenant, account_id)
    return render_template("admin/accounts/detail.html", account=console_accounts.detail_values(account, now),
                           form=ConfirmForm(), is_self=account.id == g.account.id)


@bp.route("/accounts/<int:account_id>/edit", methods=["GET", "POST"])
@admin_required
def account_edit(account_id):
    account = console_accounts.get_account(g.tenant, account_id)
    form = AccountForm()
    if request.method == "GET":
        form.fill(console_accounts.fields_of(account))
    if account.id == g.account.id:  # one's own type and status are shown, not editable: never taken from the form
        form.role.data, form.status.data = account.role, account.status
    return _account_form(form, account)


def _account_form(form, account):
    """Shared by create and edit: validate, call the service, commit or show the errors."""
    errors = {}
    if form.validate_on_submit():
        message = (_l("アカウントを登録しました。有効化メールを送信しました。") if account is None
                   else _l("アカウントを更新しました。"))
        saved = save(lambda: _create_or_update(form, account), message, conflict_field="email")
        if saved.ok:
            return redirect(url_for("admin.account_detail", account_id=saved.value.id))
        errors = saved.errors
    values = console_accounts.detail_values(account, current_time()) if account is not None else None
    return render_template("admin/accounts/form.html", form=form, errors=errors, account=values,
                           company=g.tenant.company_name, groups=group_choices(g.tenant),
                           is_self=account is not None and account.id == g.account.id)


def _create_or_update(form, account):
    """-> the account created or updated (ValidationError for the form's own date errors too)."""
    fields, errors = form.to_fields()
    actor, client = audit_context()
    if errors:
        raise ValidationError(errors)
    if account is None:
        return console_accounts.create(g.tenant, form.email.data, fields, now=current_time(), actor=actor,
                                       client=client)
    console_accounts.update(account, fields, now=current_time(), actor=actor, client=client)
    return account


@bp.route("/accounts/<int:account_id>/unlock", methods=["POST"])
@admin_required
def account_unlock(account_id):
    return _account_action(account_id, lockout.unlock, _l("ロックを解除しました。"))


@bp.route("/accounts/<int:account_id>/resend-activation", methods=["POST"])
@admin_required
def account_resend_activation(account_id):
    return _account_action(account_id, resend_activation, _l("有効化メールを再送しました。"))


@bp.route("/accounts/<int:account_id>/reset-mfa", methods=["POST"])
@admin_required
def account_reset_mfa(account_id):
    """Destructive (the enrolled factor is gone): the first POST asks, the second (confirm=1) resets."""
    if request.form.get("confirm") != "1":
        account = console_accounts.get_account(g.tenant, account_id)
        return render_template(
            "admin/confirm.html", title=_l("二段階認証リセット"), button=_l("リセットする"),
            question=_l("%(name)sさんの二段階認証の登録を削除します。次回ログイン時に再登録が必要です。よろしいですか？",
                        name=account.name),
            action=url_for("admin.account_reset_mfa", account_id=account.id),
            cancel_url=url_for("admin.account_detail", account_id=account.id))
    return _account_action(account_id, second_factor.reset_mfa, _l("二段階認証をリセットしました。次回ログイン時に再登録します。"))


def _account_action(account_id, action, message):
    form = ConfirmForm()
    account = console_accounts.get_account(g.tenant, account_id)
    if form.validate_on_submit():
        actor, client = audit_context()
        action(account, now=current_time(), actor=actor, client=client)
        db.session.commit()
        flash(message, "info")
    return redirect(url_for("admin.account_detail", account_id=account.id))


@bp.route("/accounts/delete", methods=["POST"])
@admin_required
def accounts_delete():
    """First POST (ticked rows) shows the confirmation; the second (confirm=1) deletes."""
    return bulk_delete(
        "admin.accounts", "admin/accounts/delete.html", none_selected=_l("削除するアカウントを選択してください。"),
        confirm_items=lambda tenant, ids: [_delete_item(a) for a in console_accounts.accounts_by_ids(tenant, ids)],
        delete=console_accounts.delete_many, done=lambda count: _l("%(n)d件のアカウントを削除しました。", n=count),
        left_out=lambda tenant, ids: [_delete_item(g.account)] if g.account.id in ids else [])


def _delete_item(account):
    return {"id": account.id, "label": f"{account.name} <{account.email}>"}
