"""The inquiry form of the help page (CSRF through Flask-WTF)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from idp.platform import errors
from idp.platform.email_address import clean_email

NAME_MAX, EMAIL_MAX, COMPANY_MAX, MESSAGE_MAX = 100, 254, 200, 2000


def _one_line(form, field):
    """Name and company go into a mail as they are: no line breaks or other control characters."""
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in field.data or ""):
        raise ValidationError(_l("改行などの制御文字は使えません。"))


def _address(form, field):
    try:
        field.data = clean_email(field.data)
    except errors.ValidationError as exc:
        raise ValidationError(exc.errors["email"][0]) from None


def _required(message):
    return DataRequired(message=message)


def _at_most(limit):
    return Length(max=limit, message=_l("%(max)d文字以内で入力してください。"))


class InquiryForm(FlaskForm):
    name = StringField(validators=[_required(_l("お名前を入力してください。")), _at_most(NAME_MAX), _one_line])
    email = StringField(validators=[_at_most(EMAIL_MAX), _address])
    company = StringField(validators=[_required(_l("会社名を入力してください。")), _at_most(COMPANY_MAX), _one_line])
    message = TextAreaField(validators=[_required(_l("お問い合わせ内容を入力してください。")), _at_most(MESSAGE_MAX)])

    def prefill(self, name, email, company):
        self.name.data, self.email.data, self.company.data = name, email, company
