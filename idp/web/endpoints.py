"""The endpoints the core and the protocols send a browser to, named in one place.

admin_ui registers them; only this module spells their names, and a test checks that the app
defines each one.
"""
from flask import url_for

LOGIN = "auth.login"
ENDPOINTS = (LOGIN,)


def login_url(**params):
    """The login page, with `next`, `login_hint`, `reauth` … as query parameters."""
    return url_for(LOGIN, **params)
