"""Web pages: login and activation (auth), the user portal, and later the admin console and owner pages.

One blueprint per concern; its name is its template folder. Views parse input,
call one `idp` service, then render plain values or redirect.
"""
from flask import Blueprint, current_app, g
from flask_babel import format_datetime, get_locale

from .admin import bp as admin_bp
from .auth import bp as auth_bp
from .contract import bp as contract_bp
from .errors import register_error_handlers
from .password_reset import bp as password_reset_bp
from .portal import bp as portal_bp
from .signup import bp as signup_bp


# Shared layout, macros and static files of every page blueprint.
ui_bp = Blueprint("ui", __name__, template_folder="templates", static_folder="static",
                  static_url_path="/static")


def init_app(app):
    app.register_blueprint(ui_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(portal_bp)
    app.register_blueprint(password_reset_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(contract_bp)
    app.register_blueprint(signup_bp)
    register_error_handlers(app)
    app.context_processor(_layout_values)
    app.add_template_filter(_datetime, "datetime")


def _datetime(value):
    """Naive-UTC datetimes shown in Japan time."""
    return format_datetime(value, "yyyy/MM/dd HH:mm")


def _layout_values():
    """Values every page's layout needs, computed here so templates never touch the database."""
    account = g.get("account")
    return {
        "current_locale": str(get_locale() or "ja"),
        "product_name": current_app.config["IDP_PRODUCT_NAME"],
        "help_url": current_app.config["IDP_HELP_URL"],
        "nav_user": {"name": account.name, "company": account.tenant.company_name} if account else None,
        "nav_admin": bool(account is not None and account.is_admin),
    }
