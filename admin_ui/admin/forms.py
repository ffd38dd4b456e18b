"""Form classes of the console (CSRF through Flask-WTF; values are parsed by the services)."""
from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import StringField, TextAreaField

from idp.console.accounts import AccountFields
from idp.platform.validation import parse_number


class AccountForm(FlaskForm):
    """One form for create and edit (email is ignored on edit)."""

    email = StringField()
    name = StringField()
    phone = StringField()
    mobile = StringField()
    organization = StringField()
    department = StringField()
    group = StringField()
    role = StringField(default="user")
    status = StringField(default="enabled")
    valid_from = StringField()
    valid_to = StringField()

    def to_fields(self):
        """(AccountFields, date errors) from the submitted values."""
        errors = {}
        fields = AccountFields(
            name=self.name.data, phone=self.phone.data, mobile=self.mobile.data,
            organization=self.organization.data, department=self.department.data,
            group_id=parse_number(self.group.data or ""),
            role=self.role.data, status=self.status.data,
            valid_from=_date(self.valid_from.data, "valid_from", errors),
            valid_to=_date(self.valid_to.data, "valid_to", errors))
        return fields, errors

    def fill(self, fields):
        for key in ("name", "phone", "mobile", "organization", "department", "role", "status"):
            getattr(self, key).data = getattr(fields, key)
        self.group.data = str(fields.group_id or "")
        self.valid_from.data = fields.valid_from.isoformat() if fields.valid_from else ""
        self.valid_to.data = fields.valid_to.isoformat() if fields.valid_to else ""


def _date(value, key, errors):
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[key] = [_l("日付の形式が正しくありません。")]
        return None


class GroupForm(FlaskForm):
    name = StringField()
    description = TextAreaField()


class CsvUploadForm(FlaskForm):
    file = FileField()


class ConfirmForm(FlaskForm):
    """A bare POST (CSRF only) for buttons: delete, unlock, re-send, discard, apply."""
