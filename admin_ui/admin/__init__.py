"""Admin console under /admin (admins of the tenant only).

Pages by family: accounts (list/search, create, detail, edit, delete), accounts_csv (template,
export, two-step import), apps and the SaaS catalog (catalog), groups, logs, security (MFA policy, key
rotation). Every view is wrapped in `access.admin_required` (anonymous -> login, users -> 403) and looks
objects up through `idp` services bounded by the admin's own tenant, so guessed ids of another tenant
answer 404.
"""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from admin_ui.admin import apps  # noqa: E402,F401  (サービス: OIDC/SAML apps)
from admin_ui.admin import app_metadata  # noqa: E402,F401  (SAML: SP metadata by URL, 取得 and 再取得)
from admin_ui.admin import catalog  # noqa: E402,F401  (サービス → 追加: the SaaS catalog, downloads of an app page)
from admin_ui.admin import app_provisioning  # noqa: E402,F401  (an app page's プロビジョニング: SCIM push)
from admin_ui.admin import accounts, accounts_csv, groups, logs, security  # noqa: E402,F401  (register the views)
from admin_ui.admin import scim_tokens  # noqa: E402,F401  (SCIM連携: the SCIM endpoint's tokens)
