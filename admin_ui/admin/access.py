"""The one access rule of the console, and the request values every admin view needs."""
from functools import wraps

from flask import abort, g, redirect, request, url_for

from idp.logs.audit import Actor
from idp.platform.validation import parse_ids, parse_number
from idp.web.sso import client_info


def admin_required(view):
    """Signed-in admins of a tenant only: anonymous visitors go to the login page, users get 403."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        account = g.get("account")
        if account is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if not account.is_admin:
            abort(403)
        g.tenant = account.tenant
        return view(*args, **kwargs)
    return wrapper


def audit_context():
    """(actor, client) for the services' audit events."""
    return Actor.of_account(g.account), client_info()


def page_number():
    return parse_number(request.args.get("page", "1"), maximum=99_999) or 1


def selected_ids():
    """The ids of the ticked rows (checkboxes named `ids`), ignoring anything that is not a number; a number
    larger than any id is a 400."""
    ids = parse_ids(request.form.getlist("ids"))
    if ids is None:
        abort(400)
    return ids[:1000]
