"""SMS codes: 6 digits, valid 5 minutes, single use, stored as keyed digests; sending is throttled.

Numbers are typed as digits only: a Japanese mobile number (070/080/090 + 8
digits) or E.164 (`+` and up to 15 digits). They are stored in E.164
(`09012345678` -> `+819012345678`). Throttle per account: one code per 60
seconds and 5 per hour (counted from the stored codes, so it holds across
workers and follows the injectable clock).
"""
import re
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from idp.authn.mfa.codes import code_digest, new_numeric_code, spend
from idp.models import MfaSmsCode
from idp.platform import sms
from idp.platform.errors import ServiceError, ValidationError
from idp.platform.extensions import db
from idp.platform.random_tokens import same
from idp.platform.validation import is_number

CODE_LIFETIME = timedelta(minutes=5)
RESEND_INTERVAL = timedelta(seconds=60)
HOURLY_LIMIT = 5
THROTTLE_WINDOW = timedelta(hours=1)
JP_MOBILE_RE = re.compile(r"^0[789]0[0-9]{8}$")
E164_RE = re.compile(r"^\+[1-9][0-9]{7,14}$")
MESSAGE = "【{product}】認証コード：{code} 認証コードの有効期限は発行から5分です。"


class SmsThrottled(ServiceError):
    status_code = 429

    def __init__(self, retry_after):
        self.retry_after = max(1, int(retry_after))
        super().__init__(_l("認証コードの送信回数が多すぎます。しばらく待ってから再度お試しください。"),
                         f"SMS throttled, retry after {self.retry_after}s")


class SmsNotSent(ServiceError):
    status_code = 503

    def __init__(self, detail):
        super().__init__(_l("SMSを送信できませんでした。しばらく待ってから、もう一度「送信」を押してください。"),
                         detail)


def normalize_phone(text):
    """E.164 for a Japanese mobile number or an E.164 number typed as digits; None if neither."""
    text = (text or "").strip()
    if JP_MOBILE_RE.match(text):
        return "+81" + text[1:]
    if E164_RE.match(text):
        return text
    return None


def validate_new_phone(phone, phone_confirm):
    """The number typed twice, normalised, or a ValidationError."""
    normalized = normalize_phone(phone)
    if normalized is None:
        raise ValidationError({"phone": [_l("携帯電話番号はハイフンなしの半角数字で入力してください"
                                            "（例：09012345678、+819012345678）。")]})
    if (phone or "").strip() != (phone_confirm or "").strip():
        raise ValidationError({"phone_confirm": [_l("電話番号が一致しません。")]})
    return normalized


def _seconds_until_allowed(account, now):
    recent = db.session.scalars(select(MfaSmsCode.created_at).where(
        MfaSmsCode.account_id == account.id, MfaSmsCode.created_at > now - THROTTLE_WINDOW)
        .order_by(MfaSmsCode.created_at)).all()
    waits = [0]
    if recent and now - recent[-1] < RESEND_INTERVAL:
        waits.append((recent[-1] + RESEND_INTERVAL - now).total_seconds())
    if len(recent) >= HOURLY_LIMIT:
        waits.append((recent[-HOURLY_LIMIT] + THROTTLE_WINDOW - now).total_seconds())
    return max(waits)


def send_code(account, phone, now):
    """Issue a new code for `account` and send it to `phone` at once.

    Raises SmsThrottled (too soon / too many) or SmsNotSent (provider failure:
    the code is dropped, so a retry is not held back by the throttle).
    """
    wait = _seconds_until_allowed(account, now)
    if wait > 0:
        raise SmsThrottled(wait)
    code = new_numeric_code()
    row = MfaSmsCode(tenant_id=account.tenant_id, account_id=account.id, phone=phone,
                     code_hash=code_digest(account.id, "sms", code), created_at=now, expires_at=now + CODE_LIFETIME)
    db.session.add(row)
    db.session.flush()
    try:
        sms.send(phone, MESSAGE.format(product=current_app.config["IDP_PRODUCT_NAME"], code=code))
    except sms.SmsDeliveryError as exc:
        db.session.delete(row)
        db.session.flush()
        raise SmsNotSent(str(exc)) from None
    return row


def use_code(account, code, now, since, phone):
    """Spend the live code (issued after `since`, sent to `phone`) matching `code`; True on success.

    Bound to the number: a code sent before the number was re-set does not confirm the new one."""
    code = (code or "").strip()
    if len(code) != 6 or not is_number(code):
        return False
    wanted = code_digest(account.id, "sms", code)
    rows = db.session.scalars(select(MfaSmsCode).where(
        MfaSmsCode.account_id == account.id, MfaSmsCode.tenant_id == account.tenant_id,
        MfaSmsCode.used_at.is_(None), MfaSmsCode.expires_at > now, MfaSmsCode.created_at >= since,
        MfaSmsCode.phone == phone)).all()
    match = None
    for row in rows:
        if same(row.code_hash, wanted):
            match = row
    return match is not None and spend(MfaSmsCode, match.id, now)


def purge_old_codes(now):
    """Delete the codes the throttle no longer counts (older than an hour: long expired); return how many."""
    return db.session.execute(delete(MfaSmsCode).where(MfaSmsCode.created_at <= now - THROTTLE_WINDOW)).rowcount
