"""The SCIM server's writes, through the console's use-cases (protocols/scim calls only these).

Accounts are created, replaced and deleted by `idp.console.accounts` (same validation, same audit
events); an account created with `sendActivationMail: false` goes through the same checks and
`create_account` without the mail (its activation link can be sent later from the console). A group's
members are set by `idp.console.group_members`: adding moves an account out of its old group (the
returned `moved_from` names them), removing moves it to the default group, whose own members cannot be
removed. The externalIds are kept beside (idp.provisioning.scim_query).
"""
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from idp.console import accounts as console_accounts
from idp.console import group_members, groups as console_groups
from idp.directory.accounts import NewAccount, create_account
from idp.directory.groups import default_group
from idp.logs.audit import NO_CLIENT
from idp.platform.clock import local_date
from idp.platform.email_address import normalize_email
from idp.platform.errors import ServiceError, ValidationError
from idp.provisioning import scim_query

FIELDS = ("name", "phone", "mobile", "organization", "department", "role", "status", "valid_from", "valid_to")


class ImmutableChange(ServiceError):
    """A write tries to change what cannot change (the login ID); SCIM answers 400 mutability."""


def _fields(values, *, group_id, valid_from):
    fields = console_accounts.AccountFields(group_id=group_id, **{key: values[key] for key in FIELDS})
    fields.valid_from = fields.valid_from or valid_from
    return fields


def create_user(tenant, values, *, now, actor, client=NO_CLIENT):
    """A new account from a SCIM User's values (scim_mapping.account_values), in the default group."""
    fields = _fields(values, group_id=default_group(tenant).id, valid_from=local_date(now))
    if values["send_activation_mail"]:
        account = console_accounts.create(tenant, values["email"], fields, now=now, actor=actor, client=client)
    else:
        lookups = console_accounts.TenantLookups(tenant)
        fields.cleaned()
        errors = console_accounts.field_errors(tenant, fields, lookups)
        if errors:
            raise ValidationError(errors)
        account = create_account(tenant, NewAccount(
            email=values["email"], name=fields.name, role=fields.role, group=lookups.group(fields.group_id),
            phone=fields.phone, mobile=fields.mobile, organization=fields.organization,
            department=fields.department, status=fields.status, valid_from=fields.valid_from,
            valid_to=fields.valid_to), now=now, actor=actor, client=client, mail_template=None).account
    scim_query.set_external_id(tenant, scim_query.USER, account.subject, values["external_id"])
    return account


def replace_user(account, values, *, now, actor, client=NO_CLIENT):
    """Replace an account's fields with a SCIM User's values (PUT, or PATCH after it is applied). The group
    stays (it is changed through Groups); userName is the login ID and cannot change."""
    if values["email"] and normalize_email(values["email"]) != account.email_normalized:
        raise ImmutableChange(_l("ログインID（userName）は変更できません。"))
    fields = _fields(values, group_id=account.group_id, valid_from=account.valid_from)
    console_accounts.update(account, fields, now=now, actor=actor, client=client)
    scim_query.set_external_id(account.tenant, scim_query.USER, account.subject, values["external_id"])
    return account


def delete_user(account, *, now, actor, client=NO_CLIENT):
    scim_query.set_external_id(account.tenant, scim_query.USER, account.subject, None)
    console_accounts.delete_account(account, now=now, actor=actor, client=client)


@dataclass
class GroupWrite:
    group: object
    moved_from: dict = field(default_factory=dict)  # subject -> the (non-default) group name it left


def _unknown_members(tenant, subjects):
    found = scim_query.accounts_by_subjects(tenant, subjects)
    if len(found) != len(set(subjects)):
        raise ValidationError({"members": [_l("メンバーのアカウントが見つかりません。")]})
    return found


def _set_members(group, subjects, *, now, actor, client):
    """Make the group's members exactly `subjects`; returns {subject: old group name} of those that left a
    group other than the default one (as the console's add-members page warns)."""
    tenant = group.tenant
    wanted = _unknown_members(tenant, subjects)
    current = scim_query.members_of(tenant, [group])[group.id]
    wanted_ids = {account.id for account in wanted}
    leaving = [account.id for account in current if account.id not in wanted_ids]
    if leaving:
        group_members.remove_members(group, leaving, now=now, actor=actor, client=client)
    joining = [account for account in wanted if account.group_id != group.id]
    moved_from = {account.subject: account.group.name for account in joining if not account.group.is_default}
    if joining:
        group_members.add_members(group, [account.id for account in joining], now=now, actor=actor, client=client)
    return moved_from


def create_group(tenant, values, *, now, actor, client=NO_CLIENT):
    """A new group (no apps) with the given members moved into it."""
    _unknown_members(tenant, values["members"])
    group = console_groups.create_group_with_apps(tenant, name=values["display_name"], description="", app_ids=[],
                                                  now=now, actor=actor, client=client)
    moved = _set_members(group, values["members"], now=now, actor=actor, client=client)
    scim_query.set_external_id(tenant, scim_query.GROUP, group.id, values["external_id"])
    return GroupWrite(group, moved)


def replace_group(group, values, *, now, actor, client=NO_CLIENT):
    """Rename the group and make its members exactly the given ones (its description and apps stay)."""
    _unknown_members(group.tenant, values["members"])
    console_groups.update_group(group, name=values["display_name"], description=group.description,
                                app_ids=[app.id for app in group.apps], now=now, actor=actor, client=client)
    moved = _set_members(group, values["members"], now=now, actor=actor, client=client)
    scim_query.set_external_id(group.tenant, scim_query.GROUP, group.id, values["external_id"])
    return GroupWrite(group, moved)


def delete_group(group, *, now, actor, client=NO_CLIENT):
    """Delete a group (never the default one); its members move to the default group."""
    tenant, group_id = group.tenant, group.id
    scim_query.set_external_id(tenant, scim_query.GROUP, group_id, None)
    console_groups.delete_groups(tenant, [group_id], now=now, actor=actor, client=client)
