"""Email address syntax (no DNS or deliverability look-ups) and normalisation."""
from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l

from idp.platform.errors import ValidationError


def normalize_email(address):
    """The form used for uniqueness and look-ups: trimmed and lower-cased."""
    return (address or "").strip().lower()


def clean_email(address, field="email"):
    """Return the address as it should be stored, or raise ValidationError."""
    address = (address or "").strip()
    if not address:
        raise ValidationError({field: [_l("メールアドレスを入力してください。")]})
    try:
        result = validate_email(address, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise ValidationError({field: [_l("メールアドレスの形式が正しくありません。")]}, str(exc))
    return result.normalized
