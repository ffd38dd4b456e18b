"""Audit events (who did what to which object) and login events. Append-only."""
from dataclasses import dataclass

from idp.models import AuditEvent, LoginEvent
from idp.platform import metrics
from idp.platform.extensions import db


@dataclass(frozen=True)
class ClientInfo:
    """Where a request came from; views build it, services only store it."""

    ip: str = ""
    user_agent: str = ""


@dataclass(frozen=True)
class Actor:
    """Who performs an action: an admin or user account, an owner, an operator (CLI) or the system."""

    type: str
    id: int = None
    label: str = ""

    @classmethod
    def operator(cls):
        return cls("operator", None, "cli")

    @classmethod
    def of_account(cls, account):
        return cls(account.role, account.id, account.email)

    def is_account(self, account):
        """This actor is `account` signed in (not a token, an API client or an owner with the same row id)."""
        return self.type in ("admin", "user") and self.id == account.id


OPERATOR = Actor.operator()
NO_CLIENT = ClientInfo()


def record_audit(*, tenant_id, actor, action, now, target=None, target_type="", changes=None,
                 client=NO_CLIENT):
    event = AuditEvent(
        tenant_id=tenant_id,
        actor_type=actor.type,
        actor_id=actor.id,
        actor_label=actor.label or "",
        action=action,
        target_type=target_type or (type(target).__name__.lower() if target is not None else ""),
        target_id=getattr(target, "id", None),
        target_label=_label_of(target),
        changes=changes or {},
        ip=client.ip[:45],
        user_agent=client.user_agent[:400],
        created_at=now,
    )
    db.session.add(event)
    return event


def record_login(*, result, now, client=NO_CLIENT, account=None, login_id="", tenant_id=None,
                 reason="", target="portal", protocol="password", app_id=None):
    event = LoginEvent(
        tenant_id=tenant_id if tenant_id is not None else getattr(account, "tenant_id", None),
        account_id=getattr(account, "id", None),
        login_id=(login_id or getattr(account, "email", ""))[:254],
        app_id=app_id,
        target=target,
        protocol=protocol,
        result=result,
        reason=reason,
        ip=client.ip[:45],
        user_agent=client.user_agent[:400],
        created_at=now,
    )
    db.session.add(event)
    metrics.count_login(result, protocol)
    return event


def _label_of(target):
    if target is None:
        return ""
    for attr in ("email", "slug", "name"):
        value = getattr(target, attr, None)
        if value:
            return str(value)[:254]
    return ""
