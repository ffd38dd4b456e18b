"""A signed-in user changes their own password; their other sessions end.

A wrong current password counts as a failed login (idp.authn.lockout: five lock the account for 30
minutes), so a stolen session cannot be used to guess the password without limit; the caller
commits the count even when the change is refused."""
from flask_babel import lazy_gettext as _l

from idp.authn import lockout, sessions
from idp.directory.passwords import hash_password, policy_errors, verify_password
from idp.logs.audit import NO_CLIENT, Actor, record_audit
from idp.platform import signals
from idp.platform.errors import ValidationError

LOCKED = _l("ログインに連続で失敗したため、このアカウントはロックされています。"
            "30分後に再度ログインをお試しいただくか、管理者にロック解除をご依頼ください。")


def change_password(account, *, current, new, confirm, now, keep_session_id, client=NO_CLIENT):
    if lockout.is_locked(account, now):
        raise ValidationError({"current_password": [LOCKED]})
    ok, _rehash = verify_password(account.password_hash, current or "")
    if not ok and lockout.register_failure(account, now):
        raise ValidationError({"current_password": [LOCKED]})
    errors = {
        "current_password": [] if ok else [_l("現在のパスワードが正しくありません。")],
        "password": policy_errors(new or "", confirm or "", account.email),
    }
    if ok and new and new == current:
        errors["password"].append(_l("新しいパスワードは現在のパスワードと異なるものにしてください。"))
    if any(errors.values()):
        raise ValidationError(errors)
    lockout.register_success(account)
    account.password_hash = hash_password(new)
    account.updated_at = now
    sessions.end_all_for_account(account.id, now, reason="password_change", keep_session_id=keep_session_id)
    signals.credentials_changed.send(account, reason="password_change", now=now,
                                     keep_session_id=keep_session_id)
    record_audit(tenant_id=account.tenant_id, actor=Actor.of_account(account), action="password.change",
                 target=account, now=now, client=client)
