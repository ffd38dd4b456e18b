"""/accounts: the console's search, one account, create, change, delete, unlock, MFA reset, activation mail.

Each write calls the console's use-case with the API client as the actor (audited as the console's own
actions are) and commits; its refusals are the console's (422 per field, 409, 404)."""
from dataclasses import fields as dataclass_fields

from flask import url_for
from spectree import Response

from idp.authn import lockout, second_factor
from idp.console import accounts as console_accounts
from idp.console import api_support
from idp.console.account_search import AccountFilter
from idp.directory.accounts import resend_activation
from idp.directory.groups import default_group
from idp.platform.clock import current_time, local_date
from idp.platform.extensions import db
from protocols.api.blueprint import audit_context, bp, no_content, spec, tenant
from protocols.api.schemas import Account, AccountCreate, AccountList, AccountQuery, AccountUpdate, utc

TAGS = ("accounts",)
FILTER_ARGS = ("name", "email", "group", "role", "status", "lock", "organization", "department", "sort", "dir")


def account_body(values):
    return Account(**{**values, **{key: utc(values[key]) for key in ("last_login_at", "created_at", "updated_at")}})


def _account(account_id):
    return console_accounts.get_account(tenant(), account_id)


def _one(account, status=200, headers=None):
    return account_body(api_support.account_values(account, current_time())), status, headers or {}


@bp.get("/accounts", endpoint="accounts")
@spec.validate(resp=Response(HTTP_200=AccountList), tags=TAGS)
def list_accounts(query: AccountQuery):
    """Search the accounts

    The console's filters: substrings of name, e-mail, organization, department; exact group, role,
    status, lock state (`locked`, `unlocked`); sort by name, email, created, last_login."""
    args = {key: str(getattr(query, key)) for key in FILTER_ARGS if getattr(query, key) is not None}
    page = api_support.account_page(tenant(), AccountFilter.from_args(args), now=current_time(), page=query.page,
                                    per_page=query.per_page)
    return AccountList(items=[account_body(row) for row in page.rows], total=page.total, page=page.page,
                       per_page=page.per_page, pages=page.pages)


@bp.post("/accounts", endpoint="account_create")
@spec.validate(resp=Response(HTTP_201=Account), tags=TAGS)
def create_account(json: AccountCreate):
    """Create an account

    The activation mail goes out as when an admin creates one in the console."""
    context = audit_context()
    fields = console_accounts.AccountFields(
        name=json.name, phone=json.phone, mobile=json.mobile, organization=json.organization,
        department=json.department, group_id=json.group_id or default_group(tenant()).id, role=json.role,
        status=json.status, valid_from=json.valid_from or local_date(context["now"]), valid_to=json.valid_to)
    account = console_accounts.create(tenant(), json.email, fields, **context)
    db.session.commit()
    return _one(account, 201, {"Location": url_for("api.account", tenant_slug=tenant().slug, account_id=account.id)})


@bp.get("/accounts/<int:account_id>", endpoint="account")
@spec.validate(resp=Response(HTTP_200=Account), tags=TAGS)
def get_account(account_id):
    """Get an account"""
    return _one(_account(account_id))


@bp.patch("/accounts/<int:account_id>", endpoint="account_update")
@spec.validate(resp=Response(HTTP_200=Account), tags=TAGS)
def update_account(account_id, json: AccountUpdate):
    """Change an account

    Only the fields sent change; the e-mail address cannot."""
    account = _account(account_id)
    fields = console_accounts.fields_of(account)
    names = {field.name for field in dataclass_fields(fields)}
    for key in json.model_fields_set & names:
        setattr(fields, key, getattr(json, key))
    console_accounts.update(account, fields, **audit_context())
    db.session.commit()
    return _one(account)


@bp.delete("/accounts/<int:account_id>", endpoint="account_delete")
@spec.validate(resp=Response("HTTP_204"), tags=TAGS)
def delete_account(account_id):
    """Delete an account

    Its sessions end first (apps get back-channel logout notices)."""
    console_accounts.delete_many(tenant(), [_account(account_id).id], **audit_context())
    db.session.commit()
    return no_content()


def _action(account_id, action):
    account = _account(account_id)
    action(account, **audit_context())
    db.session.commit()
    return _one(account)


@bp.post("/accounts/<int:account_id>/unlock", endpoint="account_unlock")
@spec.validate(resp=Response(HTTP_200=Account), tags=TAGS)
def unlock_account(account_id):
    """Unlock an account locked by failed logins"""
    return _action(account_id, lockout.unlock)


@bp.post("/accounts/<int:account_id>/mfa-reset", endpoint="account_mfa_reset")
@spec.validate(resp=Response(HTTP_200=Account), tags=TAGS)
def reset_mfa(account_id):
    """Reset the second factor

    The enrolled factor and recovery codes are deleted; the user enrols again at the next login."""
    return _action(account_id, second_factor.reset_mfa)


@bp.post("/accounts/<int:account_id>/activation-mail", endpoint="account_activation_mail")
@spec.validate(resp=Response(HTTP_200=Account), tags=TAGS)
def send_activation_mail(account_id):
    """Send the activation mail again

    A fresh link; the earlier one stops working. 409 once the account has been activated."""
    return _action(account_id, resend_activation)
