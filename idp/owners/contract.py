"""The contract page's data, the hand-over to a new owner, and the CSV exports before termination.

header(owner)   -> what the bar of every signed-in contract page shows (company, owner's name, address)
summary(owner)  -> the contract page (契約情報), with the company's URLs
export_csv(owner, kind) -> accounts, audit or login log as CSV in words, plus code columns

Hand-over (契約者の切り替え):
  request_handover(owner, email, name) -> a link (24 h, single use) mailed to the new owner;
                                          a new request retires the earlier link
  accept_handover(raw, password)       -> the owner row takes the new email, name and password;
                                          every session of the old owner ends; both are mailed
"""
import csv
import io
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from idp.authn import lockout
from idp.directory import links
from idp.directory.passwords import policy_errors
from idp.logs import views as log_views
from idp.logs.audit import record_audit
from idp.logs.changes import TenantNames, value_text
from idp.logs.labels import FIELDS, VALUES, label
from idp.models import Account, App, Group
from idp.models.account import ROLE_ADMIN
from idp.owners import accounts as owners
from idp.owners import sessions as owner_sessions
from idp.platform import mail
from idp.platform.clock import local_date
from idp.platform.csv_cells import text_cell
from idp.platform.email_address import clean_email, normalize_email
from idp.platform.errors import ServiceError, ValidationError
from idp.platform.extensions import db
from idp.platform.urls import external_url, issuer_for, saml_metadata_url_for
from idp.platform.validation import text_errors

LINK_GONE = _l("このリンクは有効期限が切れているか、すでに使用されています。")


def header(owner):
    """Plain values for the bar of the signed-in contract pages (the name is "" for an owner made without one)."""
    return {"company_name": owner.tenant.company_name, "name": owner.name, "email": owner.email}


def summary(owner):
    """Plain values for the contract page."""
    tenant = owner.tenant

    def count(model):
        return db.session.scalar(select(func.count()).select_from(model).where(model.tenant_id == tenant.id))

    admins = db.session.execute(
        select(Account.name, Account.email).where(Account.tenant_id == tenant.id, Account.role == ROLE_ADMIN)
        .order_by(Account.email_normalized)).all()
    return {
        "company_name": tenant.company_name, "slug": tenant.slug, "plan": tenant.plan,
        "start_date": local_date(tenant.created_at), "status": tenant.status,
        "account_count": count(Account), "group_count": count(Group), "app_count": count(App),
        "admins": [{"name": name, "email": email} for name, email in admins],
        "issuer": issuer_for(tenant.slug), "saml_metadata_url": saml_metadata_url_for(tenant.slug),
        "login_url": login_url_for(tenant.slug),
        "owner_name": owner.name, "owner_email": owner.email,
    }


def login_url_for(slug):
    """The company's own login page (/t/<tenant ID>/login), where the tenant ID shows in a URL."""
    return external_url(f"/t/{slug}/login")


def request_handover(owner, *, email, name, now, client):
    """Mail the named new owner a link to accept the contract; nothing changes until they accept."""
    name = (name or "").strip()
    errors = {"name": text_errors(name, required=True, max_length=200,
                                  required_message=_l("名前を入力してください。"))}
    try:
        email = clean_email(email)
    except ValidationError as exc:
        errors.update(exc.errors)
    else:
        if normalize_email(email) == owner.email_normalized:
            errors["email"] = [_l("現在の契約者とは別のメールアドレスを入力してください。")]
    if any(errors.values()):
        raise ValidationError(errors)
    raw = links.issue(owner, links.OWNER_HANDOVER, now, payload={"email": email, "name": name})
    record_audit(tenant_id=owner.tenant_id, actor=owners.actor_of(owner), action="owner.handover_request",
                 target=owner, now=now, changes={"new_email": email, "new_name": name}, client=client)
    mail.send_after_commit(db.session, mail.build_message(
        email, "owner_handover_request", tenant=owner.tenant, old_owner=owner, new_name=name,
        accept_url=external_url(f"/contract/handover/{raw}")))
    return email


def handover_offer(raw_token, now):
    """What the acceptance page shows (plain values), or None for a dead link."""
    token = _live_handover(raw_token, now)
    if token is None:
        return None
    return {"company_name": token.owner.tenant.company_name, "old_owner_name": token.owner.name or token.owner.email,
            "email": token.payload["email"], "name": token.payload["name"]}


def accept_handover(raw_token, *, password, confirm, now, client):
    """The new owner takes over: email, name and password change; the old owner's sessions end."""
    token = _live_handover(raw_token, now)
    if token is None:
        raise ServiceError(LINK_GONE)
    owner, new_email, new_name = token.owner, token.payload["email"], token.payload["name"]
    errors = policy_errors(password or "", confirm or "", new_email)
    if errors:
        raise ValidationError({"password": errors})
    old = {"email": owner.email, "name": owner.name}
    owner.email, owner.email_normalized, owner.name = new_email, normalize_email(new_email), new_name
    owners.set_password(owner, password, confirm, now)
    lockout.register_success(owner)
    links.consume(token, now)
    for purpose in (links.OWNER_ACTIVATION, links.OWNER_PASSWORD_RESET):
        links.retire(owner, purpose, now)
    owner_sessions.end_all_for_owner(owner.id, now, reason="handover")
    record_audit(tenant_id=owner.tenant_id, actor=owners.actor_of(owner), action="owner.handover",
                 target=owner, now=now, changes={"email": [old["email"], new_email], "name": [old["name"], new_name]},
                 client=client)
    for address, template in ((old["email"], "owner_handover_done_old"), (new_email, "owner_handover_done_new")):
        mail.send_after_commit(db.session, mail.build_message(
            address, template, tenant=owner.tenant, old=old, new={"email": new_email, "name": new_name},
            contract_login_url=external_url("/contract/login")))
    return owner


def _live_handover(raw_token, now):
    token = links.find_usable(raw_token, links.OWNER_HANDOVER, now)
    if token is None or not token.owner.tenant.is_active:
        return None
    return token


# CSV exports (before termination): the words of the admin's log CSVs (idp/logs/labels.py, idp/logs/changes.py)
# plus columns of the stored codes for scripts. The log exports are the admin's own (idp/logs/views.py), whole
# retention period; every download is recorded in the audit log, as an admin's is.
EXPORTS = ("accounts", "audit", "logins")
ACCOUNT_FIELDS = ("email", "name", "role", "status", "group", "organization", "department", "phone", "mobile",
                  "valid_from", "valid_to", "activated", "last_login_at", "created_at")
ACCOUNT_HEADERS = {"last_login_at": _l("最終ログイン日時"), "created_at": _l("登録日時")}
ACCOUNT_CODES = {"role": _l("ユーザータイプコード"), "status": _l("ステータスコード")}


def export_csv(owner, kind, *, now, client):
    """The tenant's accounts, audit log or login log as CSV bytes (UTF-8 with BOM and CRLF, for spreadsheet
    apps); the download is recorded as the owner's."""
    tenant, actor = owner.tenant, owners.actor_of(owner)
    if kind == "accounts":
        return _accounts_csv(tenant, now=now, actor=actor, client=client)
    export = log_views.audit_csv if kind == "audit" else log_views.login_csv
    return export(tenant, log_views.LogFilter(), now=now, actor=actor, client=client)


def _accounts_csv(tenant, *, now, actor, client):
    accounts = db.session.scalars(select(Account).where(Account.tenant_id == tenant.id)
                                  .order_by(Account.email_normalized)).all()
    record_audit(tenant_id=tenant.id, actor=actor, action="account.csv_export", target_type="tenant", now=now,
                 changes={"count": len(accounts)}, client=client)
    names = TenantNames(tenant.id)
    columns = [ACCOUNT_HEADERS.get(field) or label(FIELDS, field) for field in ACCOUNT_FIELDS]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([str(column) for column in (*columns, *ACCOUNT_CODES.values())])
    for account in accounts:
        cells = [_account_text(account, field, names) for field in ACCOUNT_FIELDS]
        writer.writerow([text_cell(cell) for cell in (*cells, *(getattr(account, f) for f in ACCOUNT_CODES))])
    return out.getvalue().encode("utf-8-sig")


def _account_text(account, field, names):
    """One account value in words: coded values and yes/no as labels, dates and times (Japan) as shown."""
    value = getattr(account, "group_id" if field == "group" else field)
    if value is None or value == "":
        return ""
    if field == "group":
        return names.name(Group, value)
    if isinstance(value, date):  # a date or a datetime (stored in UTC): shown as the log pages show them
        return value_text(field, value.isoformat(), names)
    if isinstance(value, bool) or field in VALUES:
        return value_text(field, value, names)
    return value
