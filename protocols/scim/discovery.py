"""The discovery endpoints (RFC 7644 §4): ServiceProviderConfig, ResourceTypes, Schemas; and POST /.search
at the root, which would search Users and Groups at once: not supported (501)."""
from flask_babel import gettext as _

from protocols.scim import schemas
from protocols.scim.blueprint import base_url, bp, error_response, scim_response
from protocols.scim.resources import LIST_SCHEMA


def _listed(documents):
    return scim_response({"schemas": [LIST_SCHEMA], "totalResults": len(documents), "startIndex": 1,
                          "itemsPerPage": len(documents), "Resources": documents})


def _one(documents, wanted):
    for document in documents:
        if document["id"].lower() == wanted.lower():
            return scim_response(document)
    return error_response(404, _("このURLにはリソースがありません。"))


@bp.get("/ServiceProviderConfig")
def service_provider_config():
    return scim_response(schemas.service_provider_config(base_url()))


@bp.get("/ResourceTypes")
def resource_types():
    return _listed(schemas.resource_types(base_url()))


@bp.get("/ResourceTypes/<name>")
def resource_type(name):
    return _one(schemas.resource_types(base_url()), name)


@bp.get("/Schemas")
def schemas_list():
    return _listed(schemas.schemas(base_url()))


@bp.get("/Schemas/<path:schema_id>")
def schema(schema_id):
    return _one(schemas.schemas(base_url()), schema_id)


@bp.post("/.search")
def search():
    return error_response(501, _("Users と Groups をまとめて検索することはできません。/Users/.search か /Groups/.search を使ってください。"))


@bp.route("/ServiceProviderConfig", methods=["POST", "PUT", "PATCH", "DELETE"], endpoint="config_read_only")
@bp.route("/ResourceTypes", methods=["POST", "PUT", "PATCH", "DELETE"], endpoint="resource_types_read_only")
@bp.route("/Schemas", methods=["POST", "PUT", "PATCH", "DELETE"], endpoint="schemas_read_only")
def read_only():
    """The discovery endpoints are read-only (RFC 7644 §4): 405."""
    return error_response(405, _("このリソースは読み取り専用です。"), headers={"Allow": "GET"})
