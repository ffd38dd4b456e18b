"""Admin console under /admin (admins of the tenant only)."""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
