"""Operator commands: `idp mfa set|show|reset` ."""
import click
from flask.cli import AppGroup

from idp.authn import second_factor
from idp.authn.mfa import policy as mfa_policy
from idp.cli.output import Output, account_command, emit, find_tenant, json_option, transactional
from idp.directory import groups
from idp.logs.audit import OPERATOR
from idp.platform.clock import current_time
from idp.tenancy import tenants

mfa_cli = AppGroup("mfa", help="Multi-factor authentication policy.")


@mfa_cli.command("set")
@click.option("--tenant", "slug", required=True)
@click.option("--group", "group_name", default=None, help="Override for one group (`inherit` removes it).")
@click.argument("mode", type=click.Choice(list(mfa_policy.MODES) + [mfa_policy.INHERIT]))
@json_option
@transactional
def mfa_set(slug, group_name, mode, as_json):
    """Who needs a second factor: off, totp, sms, any (the user's choice) or passkey."""
    tenant = tenants.get_by_slug(slug)
    group = groups.get_by_name(tenant, group_name) if group_name else None
    if mode == mfa_policy.INHERIT and group is None:
        raise click.UsageError("`inherit` needs --group")
    mfa_policy.set_policy(tenant, mode, group=group, now=current_time(), actor=OPERATOR)
    data = {"tenant": tenant.slug, "group": group.name if group else None,
            "mode": None if mode == mfa_policy.INHERIT else mode}
    where = f"group {group.name} of {tenant.slug}" if group else f"tenant {tenant.slug}"
    return Output(as_json, data, f"MFA for {where}: {data['mode'] or 'inherits the tenant policy'}")


@mfa_cli.command("show")
@click.option("--tenant", "slug", required=True)
@json_option
def mfa_show(slug, as_json):
    """The tenant's mode and the group overrides."""
    tenant = find_tenant(slug)
    names = {g.id: g.name for g in tenant.groups}
    overrides = {names[group_id]: mode for group_id, mode in mfa_policy.list_overrides(tenant).items()}
    data = {"tenant": tenant.slug, "mode": mfa_policy.get_policy(tenant), "groups": overrides}
    emit(as_json, data, "\n".join([f"tenant {tenant.slug}: {data['mode']}"]
                                  + [f"  group {name}: {mode}" for name, mode in sorted(overrides.items())]))


@account_command(mfa_cli, "reset")
def mfa_reset(account, as_json):
    """Forget an account's second factor and passkeys; it enrols again at its next login."""
    second_factor.reset_mfa(account, now=current_time(), actor=OPERATOR)
    return Output(as_json, {"id": account.id, "email": account.email, "reset": True},
                  f"MFA reset for {account.email}: enrols again at the next login")
