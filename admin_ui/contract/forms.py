from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField


class HandoverForm(FlaskForm):
    email = StringField()
    name = StringField()


class TerminateForm(FlaskForm):
    password = PasswordField()
    company_name = StringField()
