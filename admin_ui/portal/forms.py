from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField


class ProfileForm(FlaskForm):
    name = StringField()
    phone = StringField()
    mobile = StringField()
    organization = StringField()
    department = StringField()


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField()
    password = PasswordField()
    password_confirm = PasswordField()
