"""Pages reached through an emailed link that set a password: account activation and reset,
the owner's activation and reset, the contract hand-over. One flow, many services.

GET (and POST) first count the use against the `link` rate limit, then show the 410 page
for an unknown, expired or used link; a valid POST sets the password through the service,
commits, flashes `done_message` and returns `done()` (a redirect); the login page that follows shows the
address already filled in (`LOGIN_EMAIL` in the form session, read once). Every such page lists the password
policy (`passwords.rules`, naming the part of the address the password may not contain).
"""
from flask import render_template, session

from admin_ui.auth.forms import NewPasswordForm
from admin_ui.saving import save
from idp.directory import passwords
from idp.platform import ratelimit
from idp.platform.clock import current_time
from idp.web.sso import client_info

LOGIN_EMAIL = "login_email"


def set_password_page(token, *, find, apply, template, invalid_template, done_message, done, context):
    """`find(token, now)` -> the link's subject or None; `apply(token, password=, confirm=, now=, client=)`
    sets the password (ValidationError for policy errors); `context(subject)` -> the template values, with
    the `email` whose password it is."""
    now = current_time()
    ratelimit.guard("link", client=client_info(), account=token, now=now)
    subject = find(token, now)
    if subject is None:
        return render_template(invalid_template), 410
    form = NewPasswordForm()
    errors = []
    if form.validate_on_submit():
        saved = save(lambda: apply(token, password=form.password.data, confirm=form.password_confirm.data, now=now,
                                   client=client_info()), done_message, on_invalid=None)
        if saved.ok:
            session[LOGIN_EMAIL] = context(subject)["email"]
            return done()
        errors = saved.errors.get("password", [])
    values = context(subject)
    return render_template(template, form=form, errors=errors, password_rules=passwords.rules(values["email"]),
                           **values)
