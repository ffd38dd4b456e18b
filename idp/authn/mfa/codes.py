"""One-time codes of the second factor: keyed digests and recovery codes.

SMS codes and recovery codes are stored as HMAC-SHA256 digests keyed from
SECRET_KEY and bound to the account, so a database copy neither reveals them
nor lets anyone brute-force six digits offline. Recovery codes: 10 per
enrolment, shown once, single use, 60 random bits each (`xxxx-xxxx-xxxx`).
"""
import hashlib
import hmac
import secrets

from flask import current_app
from sqlalchemy import delete, select, update

from idp.models import MfaRecoveryCode
from idp.platform.extensions import db
from idp.platform.random_tokens import same

RECOVERY_CODE_COUNT = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
RECOVERY_GROUPS = 3
RECOVERY_GROUP_LEN = 4


def code_digest(account_id, purpose, code):
    # the label predates idp.authn.mfa; stored digests depend on it, so it stays
    key = hmac.new(current_app.config["SECRET_KEY"].encode("utf-8"), b"idp.mfa.codes", hashlib.sha256).digest()
    return hmac.new(key, f"{purpose}:{account_id}:{code}".encode("utf-8"), hashlib.sha256).hexdigest()


def new_numeric_code(digits=6):
    return f"{secrets.randbelow(10 ** digits):0{digits}d}"


def normalize_recovery_code(text):
    return "".join(ch for ch in (text or "").lower() if ch.isalnum())[:64]


def looks_like_recovery_code(text):
    return len(normalize_recovery_code(text)) == RECOVERY_GROUPS * RECOVERY_GROUP_LEN


def issue_recovery_codes(account, now):
    """Replace the account's recovery codes with 10 new ones; return them in clear (shown once)."""
    db.session.execute(delete(MfaRecoveryCode).where(MfaRecoveryCode.account_id == account.id))
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_GROUPS * RECOVERY_GROUP_LEN))
        codes.append("-".join(raw[i:i + RECOVERY_GROUP_LEN] for i in range(0, len(raw), RECOVERY_GROUP_LEN)))
        db.session.add(MfaRecoveryCode(tenant_id=account.tenant_id, account_id=account.id,
                                       code_hash=code_digest(account.id, "recovery", raw), created_at=now))
    return codes


def use_recovery_code(account, text, now):
    """Spend one unused recovery code matching `text`; True when one was found."""
    wanted = code_digest(account.id, "recovery", normalize_recovery_code(text))
    rows = db.session.scalars(select(MfaRecoveryCode).where(
        MfaRecoveryCode.account_id == account.id, MfaRecoveryCode.tenant_id == account.tenant_id,
        MfaRecoveryCode.used_at.is_(None))).all()
    match = None
    for row in rows:
        if same(row.code_hash, wanted):
            match = row
    return match is not None and spend(MfaRecoveryCode, match.id, now)


def spend(model, row_id, now):
    """Mark a single-use code used, atomically: False if a concurrent request spent it first."""
    result = db.session.execute(update(model).where(model.id == row_id, model.used_at.is_(None))
                                .values(used_at=now).execution_options(synchronize_session="fetch"))
    return result.rowcount == 1


def remaining_recovery_codes(account):
    return len(db.session.scalars(select(MfaRecoveryCode.id).where(
        MfaRecoveryCode.account_id == account.id, MfaRecoveryCode.used_at.is_(None))).all())
