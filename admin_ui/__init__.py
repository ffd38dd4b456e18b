"""Web pages: login and activation (auth), the user portal, and later the admin console and owner pages.

One blueprint per concern; its name is its template folder. Views parse input,
call one `idp` service, then render plain values or redirect.
"""
from flask import Blueprint

from admin_ui.admin import bp as admin_bp
from admin_ui.auth import bp as auth_bp
from admin_ui.contract import bp as contract_bp
from admin_ui.help import bp as help_bp
from admin_ui.password_reset import bp as password_reset_bp
from admin_ui.portal import bp as portal_bp
from admin_ui.signup import bp as signup_bp

# Shared macros and static files of every page blueprint (the base layout is idp/templates/base.html).
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
    app.register_blueprint(help_bp)
