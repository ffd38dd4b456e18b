"""The values and filters of the base layout (idp/templates/base.html), which every page extends.

Computed here so that templates never touch the database.
"""
from flask import current_app, g
from flask_babel import format_datetime, get_locale


def init_app(app):
    app.context_processor(_layout_values)
    app.add_template_filter(_datetime, "datetime")


def _datetime(value):
    """Naive-UTC datetimes shown in Japan time."""
    return format_datetime(value, "yyyy/MM/dd HH:mm")


def _layout_values():
    account = g.get("account")
    return {
        "current_locale": str(get_locale() or "ja"),
        "product_name": current_app.config["IDP_PRODUCT_NAME"],
        "help_url": current_app.config["IDP_HELP_URL"],
        "nav_user": {"name": account.name, "company": account.tenant.company_name} if account else None,
        "nav_admin": bool(account is not None and account.is_admin),
    }
