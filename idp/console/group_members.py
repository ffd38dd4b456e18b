"""A group's members: who may be added, adding, taking out.

An account is in exactly one group, so adding an account to a group moves it out of its current one,
and taking a member out of a group moves it to the tenant's default group (whose own members leave it
only by being added elsewhere). Each move is an `account.update` audit event ({"group": [from, to]}),
and takes effect at the next request (`idp.apps.catalogue.may_use` reads the account's group).

The rule of the account form and the CSV import holds here too: no account lands in a group whose MFA
policy (the group's override, else the tenant's) is `sms` without a mobile number. Such a move is
refused as a whole, naming the accounts, and nothing changes (like the CSV import, which applies
nothing while any row is wrong).
"""
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from idp.authn.mfa import policy as mfa_policy
from idp.console import account_search
from idp.console.accounts import TenantLookups
from idp.directory.groups import default_group
from idp.logs.audit import NO_CLIENT, record_audit
from idp.models import Account, Group
from idp.platform.errors import NotFound, ServiceError
from idp.platform.extensions import db
from idp.platform.paging import fetch_page

PER_PAGE = 50


class MobileMissing(ServiceError):
    """Accounts without a mobile number would land in a group whose MFA policy is `sms`;
    `accounts` are their {id, name, email}."""

    def __init__(self, message, accounts):
        super().__init__(message, detail=f"{len(accounts)} accounts without a mobile number for an SMS group")
        self.accounts = [{"id": a.id, "name": a.name, "email": a.email} for a in accounts]


@dataclass(frozen=True)
class Added:
    added: int  # accounts now in the group
    from_other_groups: int  # of them, how many left a group other than the default group


@dataclass(frozen=True)
class Removal:
    members: list  # the accounts to take out, by name
    fallback: Group  # where they go: the tenant's default group


def requires_mobile(group):
    """Whether the accounts of `group` need a mobile number: its MFA policy is `sms`."""
    return TenantLookups(group.tenant).mfa_mode(group.id) == mfa_policy.SMS


def _without_mobile(accounts):
    return [account for account in accounts if not (account.mobile or "").strip()]


def dialog_values(group):
    """What the add-members page says about the group itself."""
    return {"id": group.id, "name": group.name, "is_default": group.is_default,
            "requires_mobile": requires_mobile(group)}


def candidates(group, filters, *, now, page=1, per_page=PER_PAGE):
    """One page of the tenant's accounts that are not in `group` (the account search's filters), by name,
    each with its current group: `moves_from` names a group other than the default one, which adding leaves;
    `mobile_missing` says that the group's SMS policy refuses the account."""
    needs_mobile = requires_mobile(group)
    where = account_search.conditions(group.tenant, filters, now) + [Account.group_id != group.id]
    query = (select(Account.id, Account.name, Account.email, Account.mobile, Group.name, Group.is_default)
             .join(Group, Group.id == Account.group_id).where(*where).order_by(Account.name, Account.id))

    def values(account_id, name, email, mobile, group_name, in_default):
        return {"id": account_id, "name": name, "email": email, "group": group_name,
                "moves_from": None if in_default else group_name,
                "mobile_missing": needs_mobile and not (mobile or "").strip()}
    return fetch_page(query, select(func.count(Account.id)).where(*where), page=min(page, account_search.MAX_PAGE),
                      per_page=per_page, values=values)


def add_members(group, account_ids, *, now, actor, client=NO_CLIENT):
    """Move the given accounts of the group's tenant into `group` (other tenants' ids and current members are
    ignored). Raises MobileMissing (nothing moved) when the group's policy is `sms` and some have no mobile."""
    ids = {int(i) for i in account_ids}
    if not ids:
        return Added(0, 0)
    moving = db.session.execute(
        select(Account, Group.is_default).join(Group, Group.id == Account.group_id)
        .where(Account.tenant_id == group.tenant_id, Account.id.in_(ids), Account.group_id != group.id)
        .order_by(Account.name, Account.id)).all()
    missing = _without_mobile([account for account, _ in moving]) if requires_mobile(group) else []
    if missing:
        raise MobileMissing(_l("このグループの二段階認証はSMSのため、携帯電話番号が登録されていない次のアカウントは"
                               "追加できません。携帯電話番号を登録するか、選択を外してください。"), missing)
    for account, _ in moving:
        _move(account, group, now=now, actor=actor, client=client)
    return Added(len(moving), sum(1 for _, in_default in moving if not in_default))


def removal(group, account_ids):
    """What taking these members out of `group` does: Removal(members, fallback). Refused for the default
    group, for ids that are none of its members, and (MobileMissing) when the default group's policy is `sms`
    and some of them have no mobile number."""
    if group.is_default:
        raise ServiceError(_l("デフォルトグループのメンバーは外せません。別のグループでメンバー追加すると、そのグループに移動します。"))
    ids = {int(i) for i in account_ids}
    members = db.session.scalars(select(Account).where(
        Account.tenant_id == group.tenant_id, Account.group_id == group.id, Account.id.in_(ids))
        .order_by(Account.name, Account.id)).all() if ids else []
    if not members:
        raise NotFound(_l("グループから外すメンバーが見つかりません。"))
    fallback = default_group(group.tenant)
    missing = _without_mobile(members) if requires_mobile(fallback) else []
    if missing:
        raise MobileMissing(_l("デフォルトグループ「%(name)s」の二段階認証はSMSのため、携帯電話番号が登録されていない"
                               "次のメンバーは外せません。携帯電話番号を登録するか、選択を外してください。",
                               name=fallback.name), missing)
    return Removal(members, fallback)


def remove_members(group, account_ids, *, now, actor, client=NO_CLIENT):
    """Take the given members out of `group` into the default group (see `removal`); returns the Removal done."""
    planned = removal(group, account_ids)
    for account in planned.members:
        _move(account, planned.fallback, now=now, actor=actor, client=client)
    return planned


def _move(account, group, *, now, actor, client):
    record_audit(tenant_id=account.tenant_id, actor=actor, action="account.update", target=account, now=now,
                 changes={"group": [account.group_id, group.id]}, client=client)
    account.group_id = group.id
    account.updated_at = now
