"""Owner (契約者) pages under /contract: contract login, contract page, hand-over, termination.

The owner has a session of its own (cookie `idp_owner`, path /contract, 10 h),
separate from the staff SSO session: signing in here never opens the portal.
`auth` holds login, logout and the emailed links; `federation` the optional
login through an upstream OpenID Connect provider; `pages` the contract page,
hand-over, CSV exports and termination. Rules live in idp.owners.accounts, idp.owners.contract
and idp.tenancy.lifecycle.
"""
from functools import wraps

from flask import Blueprint, current_app, g, redirect, request, url_for

from idp.owners import contract
from idp.owners import sessions as owner_sessions
from idp.platform.clock import current_time

bp = Blueprint("contract", __name__, url_prefix="/contract")
OWNER_COOKIE = "idp_owner"
COOKIE_PATH = "/contract"


@bp.before_request
def load_owner_session():
    g.owner_session = owner_sessions.resolve(request.cookies.get(OWNER_COOKIE), current_time())
    g.owner = g.owner_session.owner if g.owner_session else None


@bp.context_processor
def contract_bar():
    """The signed-in owner's company, name and address for the bar of the contract pages."""
    return {"contract_owner": contract.header(g.owner) if g.get("owner") is not None else None}


def owner_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if g.get("owner") is None:
            return redirect(url_for("contract.login"))
        return view(*args, **kwargs)
    return wrapper


def set_owner_cookie(response, raw_token):
    response.set_cookie(OWNER_COOKIE, raw_token, max_age=int(owner_sessions.LIFETIME.total_seconds()),
                        httponly=True, samesite="Lax", secure=current_app.config["IDP_HTTPS"], path=COOKIE_PATH)
    return response


def clear_owner_cookie(response):
    response.delete_cookie(OWNER_COOKIE, path=COOKIE_PATH, httponly=True, samesite="Lax",
                           secure=current_app.config["IDP_HTTPS"])
    return response


from admin_ui.contract import auth, federation, pages  # noqa: E402,F401  (register the views)
