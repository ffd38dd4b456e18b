from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, StringField


class LoginForm(FlaskForm):
    email = StringField()
    password = PasswordField()
    next = HiddenField()


class NewPasswordForm(FlaskForm):
    """Setting a password through an emailed link (activation now, reset later)."""

    password = PasswordField()
    password_confirm = PasswordField()


class ConfirmForm(FlaskForm):
    """A bare POST with its CSRF token (logout and other confirmations)."""


class CodeForm(FlaskForm):
    """A one-time code: TOTP, SMS or a recovery code (MFA)."""

    code = StringField()


class MethodForm(FlaskForm):
    method = StringField()


class PhoneForm(FlaskForm):
    phone = StringField()
    phone_confirm = StringField()


class CompanyChoiceForm(FlaskForm):
    """The company to sign in to, when the password opened accounts in several tenants."""

    account = StringField()
    remember = BooleanField()
