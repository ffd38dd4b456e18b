"""A full reconciliation of one app (「今すぐ同期」, `idp provisioning sync`): make the app's SCIM users match
who may use the app now.

Every user of the app's server is matched to an account of the tenant: by the id we kept, by externalId
(our subject), by userName (the login address, case-insensitively). A matched account that may use the app
is replaced with its current state; one that may not (or a kept id whose account is gone) is deactivated,
or deleted when the app says so. Accounts that may use the app and matched nobody are created. Users that
match no account of the tenant (the SaaS's own admins, say) are left alone and counted as `unmanaged`.
"""
from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.models import Account, group_apps
from idp.models.provisioning import DELETE
from idp.platform.extensions import db
from idp.provisioning import push


def _match(user, kept_by_remote, by_subject, by_email):
    remote_id = str(user.get("id") or "")
    for account in (by_subject.get(kept_by_remote.get(remote_id)), by_subject.get(user.get("externalId")),
                    by_email.get(str(user.get("userName") or "").lower())):
        if account is not None:
            return account
    return None


def run(client, target, now=None):
    """Reconcile the app of `target` (a row with app_id, tenant_id, deprovision); returns the counts."""
    counts = {"created": 0, "updated": 0, "deactivated": 0, "deleted": 0, "unmanaged": 0}
    with Session(db.engine) as session:
        accounts = session.scalars(select(Account).where(Account.tenant_id == target.tenant_id)).all()
        allowed = set(session.scalars(select(group_apps.c.group_id).where(group_apps.c.app_id == target.app_id)))
        by_subject = {account.subject: account for account in accounts}
        by_email = {account.email.lower(): account for account in accounts}
        kept_by_remote = {remote: subject for subject, remote in push.remote_ids(target.app_id).items()}
        done = set()
        for user in list(client.all_users()):
            remote_id = str(user.get("id") or "")
            account = _match(user, kept_by_remote, by_subject, by_email)
            if account is not None and account.group_id in allowed:
                if account.subject not in done:
                    client.replace_user(remote_id, push.outbound_resource(account))
                    push.keep_remote_id(target, account.subject, remote_id)
                    counts["updated"] += 1
                    done.add(account.subject)
            elif account is not None or remote_id in kept_by_remote:
                subject = account.subject if account is not None else kept_by_remote[remote_id]
                _remove(client, target, user, subject, counts)
            else:
                counts["unmanaged"] += 1
        for account in accounts:
            if account.group_id in allowed and account.subject not in done:
                counts[push.upsert(client, target, account)] += 1
    return counts


def _remove(client, target, user, subject, counts):
    remote_id = str(user.get("id"))
    if target.deprovision == DELETE:
        client.delete_user(remote_id)
        push.keep_remote_id(target, subject, None)
        counts["deleted"] += 1
    elif user.get("active", True) is not False:
        client.deactivate_user(remote_id)
        counts["deactivated"] += 1
