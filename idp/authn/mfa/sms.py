"""SMS codes: 6 digits, valid 5 minutes, single use, stored as keyed digests; sending is throttled.

Numbers: a Japanese mobile number (070/080/090 + 8 digits) or E.164 (`+` and up
to 15 digits), typed as people type them (hyphens, spaces, full-width digits, a
dropped leading 0: `idp.platform.validation.clean_phone`). They are stored in
E.164 (`090-1234-5678` -> `+819012345678`). Throttle per account: one code per
60 seconds and 5 per hour (counted from the stored codes, so it holds across
workers and follows the injectable clock); a refusal says how long to wait.
"""
import math
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
from idp.platform.validation import MOBILE_RE, clean_phone, is_number

CODE_LIFETIME = timedelta(minutes=5)
RESEND_INTERVAL = timedelta(seconds=60)
HOURLY_LIMIT = 5
THROTTLE_WINDOW = timedelta(hours=1)
E164_RE = re.compile(r"^\+[1-9][0-9]{7,14}$")
MESSAGE = "【{product}】認証コード：{code} 認証コードの有効期限は発行から5分です。"


class SmsThrottled(ServiceError):
    """Too soon after the last code, or the hour's codes used up (`hourly`): the message says which and how
    long to wait (seconds, or minutes for the hour); `retry_after` is whole seconds (the Retry-After header)."""

    status_code = 429

    def __init__(self, retry_after, hourly=False):
        self.retry_after = max(1, math.ceil(retry_after))
        if hourly:
            message = _l("認証コードの送信は1時間に%(limit)d回までです。あと%(minutes)d分お待ちください。",
                         limit=HOURLY_LIMIT, minutes=math.ceil(self.retry_after / 60))
        else:
            message = _l("認証コードの送信は%(interval)d秒に1回までです。あと%(seconds)d秒お待ちください。",
                         interval=RESEND_INTERVAL.seconds, seconds=self.retry_after)
        super().__init__(message, f"SMS throttled ({'hourly' if hourly else 'interval'}), "
                                  f"retry after {self.retry_after}s")


class SmsNotSent(ServiceError):
    status_code = 503

    def __init__(self, detail):
        super().__init__(_l("SMSを送信できませんでした。しばらく待ってから、もう一度「送信」を押してください。"),
                         detail)


def normalize_phone(text):
    """E.164 for a Japanese mobile number or an E.164 number, as typed (`clean_phone`); None if neither."""
    number = clean_phone(text)
    if MOBILE_RE.match(number):
        return "+81" + number[1:]
    if E164_RE.match(number):
        return number
    return None


def validate_new_phone(phone, phone_confirm):
    """The number typed twice (the same number, however written), normalised, or a ValidationError."""
    normalized = normalize_phone(phone)
    if normalized is None:
        raise ValidationError({"phone": [_l("携帯電話番号は070・080・090で始まる11桁の番号か、+で始まる国際番号を"
                                            "入力してください（例：090-1234-5678、+81 90-1234-5678）。")]})
    if normalize_phone(phone_confirm) != normalized:
        raise ValidationError({"phone_confirm": [_l("電話番号が一致しません。")]})
    return normalized


def _seconds_until_allowed(account, now):
    """(seconds to wait, whether the hour's limit is what holds it back): (0, False) when a code may go now."""
    recent = db.session.scalars(select(MfaSmsCode.created_at).where(
        MfaSmsCode.account_id == account.id, MfaSmsCode.created_at > now - THROTTLE_WINDOW)
        .order_by(MfaSmsCode.created_at)).all()
    interval = (recent[-1] + RESEND_INTERVAL - now).total_seconds() if recent else 0
    hourly = (recent[-HOURLY_LIMIT] + THROTTLE_WINDOW - now).total_seconds() if len(recent) >= HOURLY_LIMIT else 0
    return (hourly, True) if hourly > 0 and hourly >= interval else (max(interval, 0), False)


def send_code(account, phone, now, also=()):
    """Issue a new code for `account` (and the accounts `also`, which share the number: one SMS, one code
    valid for each) and send it to `phone` at once.

    Raises SmsThrottled (too soon / too many, for any of them) or SmsNotSent (provider failure:
    the code is dropped, so a retry is not held back by the throttle).
    """
    holders = [account, *also]
    for holder in holders:
        wait, hourly = _seconds_until_allowed(holder, now)
        if wait > 0:
            raise SmsThrottled(wait, hourly=hourly)
    code = new_numeric_code()
    rows = [MfaSmsCode(tenant_id=holder.tenant_id, account_id=holder.id, phone=phone,
                       code_hash=code_digest(holder.id, "sms", code), created_at=now, expires_at=now + CODE_LIFETIME)
            for holder in holders]
    db.session.add_all(rows)
    db.session.flush()
    try:
        sms.send(phone, MESSAGE.format(product=current_app.config["IDP_PRODUCT_NAME"], code=code),
                 tenant_id=account.tenant_id)  # a failure shows on the tenant's delivery errors page
    except sms.SmsDeliveryError as exc:
        for row in rows:
            db.session.delete(row)
        db.session.flush()
        raise SmsNotSent(str(exc)) from None
    return rows[0]


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
