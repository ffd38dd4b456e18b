"""The `scim` blueprint under /t/<tenant>/scim/v2: bearer-token authentication, SCIM responses and errors.

Every request needs `Authorization: Bearer <token>` of the tenant in the URL (RFC 7644 §2): a missing,
unknown, revoked or expired token, another tenant's, or an unknown tenant are one 401 with
`WWW-Authenticate: Bearer`; a read token writing is 403; too many requests of one token 429. Errors are
SCIM Error JSON with scimType (RFC 7644 §3.12), never an HTML page; the transaction is rolled back.
"""
import json
import logging
import sys

from flask import Blueprint, g, request
from flask import Response
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException
from werkzeug.utils import cached_property, import_string

from idp.console.group_members import MobileMissing
from idp.console.scim_support import ImmutableChange
from idp.platform.clock import current_time
from idp.platform.errors import Conflict, NotFound, ServiceError, ValidationError
from idp.platform.extensions import db
from idp.platform.ratelimit import RateLimited
from idp.platform.urls import issuer_for
from idp.provisioning import scim_tokens
from idp.web.sso import mark_stateless
from idp.web.tenant_urls import tenant_from_url

bp = Blueprint("scim", __name__, url_prefix="/t/<tenant_slug>/scim/v2")
MEDIA_TYPE = "application/scim+json"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
WRITES = ("POST", "PUT", "PATCH", "DELETE")
log = logging.getLogger(__name__)


@bp.record_once
def _stateless(state):
    mark_stateless(state.app, *(f"scim.{name}" for name in ENDPOINTS))


# (rule, methods, endpoint, view in protocols.scim): the views and scim2-models are imported at the first
# SCIM request (LazyView); a process that answers none does without them (~11 MB, docs/performance.md)
ROUTES = (
    ("/ServiceProviderConfig", ["GET"], "service_provider_config", "discovery.service_provider_config"),
    ("/ResourceTypes", ["GET"], "resource_types", "discovery.resource_types"),
    ("/ResourceTypes/<name>", ["GET"], "resource_type", "discovery.resource_type"),
    ("/Schemas", ["GET"], "schemas_list", "discovery.schemas_list"),
    ("/Schemas/<path:schema_id>", ["GET"], "schema", "discovery.schema"),
    ("/.search", ["POST"], "search", "discovery.search"),
    ("/ServiceProviderConfig", ["POST", "PUT", "PATCH", "DELETE"], "config_read_only", "discovery.read_only"),
    ("/ResourceTypes", ["POST", "PUT", "PATCH", "DELETE"], "resource_types_read_only", "discovery.read_only"),
    ("/Schemas", ["POST", "PUT", "PATCH", "DELETE"], "schemas_read_only", "discovery.read_only"),
    ("/Users", ["GET"], "users", "users.users"),
    ("/Users/.search", ["POST"], "search_users", "users.search_users"),
    ("/Users/<user_id>", ["GET"], "user", "users.user"),
    ("/Users", ["POST"], "create_user", "users.create_user"),
    ("/Users/<user_id>", ["PUT"], "replace_user", "users.replace_user"),
    ("/Users/<user_id>", ["PATCH"], "patch_user", "users.patch_user"),
    ("/Users/<user_id>", ["DELETE"], "delete_user", "users.delete_user"),
    ("/Groups", ["GET"], "groups", "groups.groups"),
    ("/Groups/.search", ["POST"], "search_groups", "groups.search_groups"),
    ("/Groups/<group_id>", ["GET"], "group", "groups.group"),
    ("/Groups", ["POST"], "create_group", "groups.create_group"),
    ("/Groups/<group_id>", ["PUT"], "replace_group", "groups.replace_group"),
    ("/Groups/<group_id>", ["PATCH"], "patch_group", "groups.patch_group"),
    ("/Groups/<group_id>", ["DELETE"], "delete_group", "groups.delete_group"),
)
ENDPOINTS = ("unknown",) + tuple(endpoint for _rule, _methods, endpoint, _view in ROUTES)


class LazyView:
    """A view imported at its first call: Flask's lazy-loading pattern (docs: Patterns, Lazily Loading Views)."""

    def __init__(self, import_name):
        self.__module__, self.__name__ = import_name.rsplit(".", 1)
        self.import_name = import_name

    @cached_property
    def view(self):
        return import_string(self.import_name)

    def __call__(self, *args, **kwargs):
        return self.view(*args, **kwargs)


for _rule, _methods, _endpoint, _view in ROUTES:
    bp.add_url_rule(_rule, _endpoint, LazyView(f"protocols.scim.{_view}"), methods=_methods)


@bp.route("/<path:_anything>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(_anything):
    """Any other path under the base URL: a SCIM 404, not the HTML page (RFC 7644 §3.12)."""
    return error_response(404, _("このURLにはリソースがありません。"))


def base_url():
    return f"{issuer_for(g.scim_tenant.slug)}/scim/v2"


@bp.url_value_preprocessor
def _load_tenant(_endpoint, values):
    try:
        g.scim_tenant = tenant_from_url(values)
    except HTTPException:  # an unknown tenant is told apart from a wrong token by nobody
        g.scim_tenant = None


def _bearer():
    scheme, _sep, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


@bp.before_request
def _authenticate():
    now = current_time()
    token = scim_tokens.authenticate(g.scim_tenant, _bearer(), now=now) if g.scim_tenant is not None else None
    if token is None:
        return error_response(401, _("トークンが正しくないか、有効期限が切れています。"),
                              headers={"WWW-Authenticate": 'Bearer realm="scim"'})
    scim_tokens.check_rate(token)
    if request.method in WRITES and not scim_tokens.may_write(token):
        return error_response(403, _("このトークンは読み取り専用です。"),
                              headers={"WWW-Authenticate": 'Bearer realm="scim", error="insufficient_scope"'})
    g.scim_token = token
    g.scim_actor = scim_tokens.actor_of(token)
    g.scim_now = now


def scim_response(document, status=200, headers=None):
    response = Response(json.dumps(document, ensure_ascii=False), status=status, mimetype=MEDIA_TYPE)
    response.headers["Cache-Control"] = "no-store"
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def error_response(status, detail, scim_type=None, headers=None):
    document = {"schemas": [ERROR_SCHEMA], "status": str(status), "detail": str(detail)}
    if scim_type:
        document["scimType"] = scim_type
    return scim_response(document, status, headers)


def json_body():
    """The request's JSON object; anything else is 400 invalidSyntax."""
    from scim2_models import InvalidSyntaxException
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise InvalidSyntaxException(detail=_("リクエストの本文はJSONオブジェクトにしてください。"))
    return body


def _field_message(exc):
    errors = getattr(exc, "errors", None) or {}
    if errors:
        return "; ".join(f"{field}: {' '.join(str(message) for message in messages)}"
                         for field, messages in errors.items())
    return str(exc.message)


def _scim_error(exc):
    db.session.rollback()
    return error_response(exc.status, exc.detail, exc.scim_type or None)


@bp.errorhandler(RateLimited)
def _rate_limited(exc):
    db.session.rollback()
    return error_response(429, exc.message, headers={"Retry-After": str(exc.retry_after)})


@bp.errorhandler(ServiceError)
def _service_error(exc):
    db.session.rollback()
    log.info("scim request refused: %s", exc.detail)
    if isinstance(exc, NotFound):
        return error_response(404, exc.message)
    if isinstance(exc, Conflict):
        return error_response(409, exc.message, "uniqueness")
    if isinstance(exc, ImmutableChange):
        return error_response(400, exc.message, "mutability")
    if isinstance(exc, MobileMissing):
        names = ", ".join(account["email"] for account in exc.accounts)
        return error_response(400, f"{exc.message} {names}", "invalidValue")
    if isinstance(exc, ValidationError):
        return error_response(400, _field_message(exc), "invalidValue")
    return error_response(400, exc.message, "invalidValue")


@bp.errorhandler(HTTPException)
def _http_error(exc):
    db.session.rollback()
    return error_response(exc.code or 400, exc.description or exc.name)


@bp.errorhandler(Exception)
def _unexpected(exc):
    scim = sys.modules.get("scim2_models")  # a SCIMException comes from a view, which has loaded it
    if scim is not None and isinstance(exc, scim.SCIMException):
        return _scim_error(exc)
    db.session.rollback()
    log.exception("scim request failed")
    return error_response(500, _("サーバーでエラーが発生しました。"))
