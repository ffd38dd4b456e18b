from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField


class SignupForm(FlaskForm):
    company_name = StringField()
    owner_name = StringField()
    owner_email = StringField()
    admin_email = StringField()
    agreed = BooleanField()


class SignupConfirmForm(FlaskForm):
    slug = StringField()
    admin_email = StringField()
    admin_name = StringField()
