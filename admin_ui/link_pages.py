"""Pages reached through an emailed link that set a password: account activation and reset,
the owner's activation and reset, the contract hand-over. One flow, many services.

GET (and POST) first count the use against the `link` rate limit, then show the 410 page
for an unknown, expired or used link; a valid POST sets the password through the service,
commits, flashes `done_message` and returns `done()` (a redirect).
"""
from flask import flash, render_template

from idp import ratelimit
from idp.clock import current_time
from idp.errors import ValidationError
from idp.extensions import db
from idp.web import client_info

from .auth.forms import NewPasswordForm


def set_password_page(token, *, find, apply, template, invalid_template, done_message, done, context):
    """`find(token, now)` -> the link's subject or None; `apply(token, password=, confirm=, now=, client=)`
    sets the password (ValidationError for policy errors); `context(subject)` -> the template values."""
    now = current_time()
    ratelimit.guard("link", client=client_info(), account=token, now=now)
    subject = find(token, now)
    if subject is None:
        return render_template(invalid_template), 410
    form = NewPasswordForm()
    errors = []
    if form.validate_on_submit():
        try:
            apply(token, password=form.password.data, confirm=form.password_confirm.data, now=now,
                  client=client_info())
        except ValidationError as exc:
            errors = exc.errors.get("password", [])
        else:
            db.session.commit()
            flash(done_message, "info")
            return done()
    return render_template(template, form=form, errors=errors, **context(subject))
