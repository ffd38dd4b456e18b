"""The discovery endpoints (RFC 7644 §4): ServiceProviderConfig, ResourceTypes, Schemas; and POST /.search
at the root, which would search Users and Groups at once: not supported (501)."""
from flask_babel import gettext as _

from protocols.scim import schemas
from protocols.scim.blueprint import base_url, error_response, scim_response
from protocols.scim.resources import LIST_SCHEMA


def _listed(documents):
    return scim_response({"schemas": [LIST_SCHEMA], "totalResults": len(documents), "startIndex": 1,
                          "itemsPerPage": len(documents), "Resources": documents})


def _one(documents, wanted):
    for document in documents:
        if document["id"].lower() == wanted.lower():
            return scim_response(document)
    return error_response(404, _("このURLにはリソースがありません。"))


def service_provider_config():
    return scim_response(schemas.service_provider_config(base_url()))


def resource_types():
    return _listed(schemas.resource_types(base_url()))


def resource_type(name):
    return _one(schemas.resource_types(base_url()), name)


def schemas_list():
    return _listed(schemas.schemas(base_url()))


def schema(schema_id):
    return _one(schemas.schemas(base_url()), schema_id)


def search():
    return error_response(501, _("Users と Groups をまとめて検索することはできません。/Users/.search か /Groups/.search を使ってください。"))


def read_only():
    """The discovery endpoints are read-only (RFC 7644 §4): 405."""
    return error_response(405, _("このリソースは読み取り専用です。"), headers={"Allow": "GET"})
