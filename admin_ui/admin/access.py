"""The one access rule of the console, and the request values every admin view needs."""
from functools import wraps

from flask import abort, g, redirect, request, url_for

from idp.logs.audit import Actor
from idp.platform.validation import is_number
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
    value = request.args.get("page", "1")
    return int(value) if is_number(value) and 0 < int(value) < 100_000 else 1


def selected_ids():
    """The ids of the ticked rows (checkboxes named `ids`), ignoring anything that is not a number."""
    return [int(v) for v in request.form.getlist("ids") if is_number(v)][:1000]
