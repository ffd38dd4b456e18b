"""A signed-in user changes their own password; their other sessions end."""
from flask_babel import lazy_gettext as _l

from . import sessions, signals
from .audit import NO_CLIENT, Actor, record_audit
from .errors import ValidationError
from .passwords import hash_password, policy_errors, verify_password


def change_password(account, *, current, new, confirm, now, keep_session_id, client=NO_CLIENT):
    ok, _rehash = verify_password(account.password_hash, current or "")
    errors = {
        "current_password": [] if ok else [_l("現在のパスワードが正しくありません。")],
        "password": policy_errors(new or "", confirm or "", account.email),
    }
    if ok and new and new == current:
        errors["password"].append(_l("新しいパスワードは現在のパスワードと異なるものにしてください。"))
    if any(errors.values()):
        raise ValidationError(errors)
    account.password_hash = hash_password(new)
    account.updated_at = now
    sessions.end_all_for_account(account.id, now, reason="password_change", keep_session_id=keep_session_id)
    signals.credentials_changed.send(account, reason="password_change", now=now,
                                     keep_session_id=keep_session_id)
    record_audit(tenant_id=account.tenant_id, actor=Actor.of_account(account), action="password.change",
                 target=account, now=now, client=client)
