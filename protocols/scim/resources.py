"""What the Users and Groups endpoints share: list parameters, attribute selection, ETags, PATCH reading.

Responses are dumped through the scim2-models resource model, which applies `attributes` and
`excludedAttributes` (RFC 7644 §3.4.2.5) and never returns a `returned: never` attribute.
"""
from flask import g, request
from flask_babel import gettext as _
from pydantic import ValidationError as PydanticError
from scim2_models import (Context, InvalidValueException, PatchOp, PreconditionFailedException,
                          ResponseParameters, SCIMException, SearchRequest)

from protocols.scim.blueprint import json_body, scim_response
from idp.provisioning import scim_query

LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


def _scim_error_in(exc):
    """The SCIMException pydantic wrapped (scim2-models raises them inside validators), else invalidValue."""
    for error in exc.errors():
        context = error.get("ctx") or {}
        if context.get("scim_type"):
            found = SCIMException()
            found.status, found.scim_type = int(context.get("status") or 400), context["scim_type"]
            found._detail = error.get("msg")
            return found
    return InvalidValueException(detail="; ".join(error.get("msg", "") for error in exc.errors())[:500])


def validated(model, document, context):
    try:
        return model.model_validate(document, scim_ctx=context)
    except PydanticError as exc:
        raise _scim_error_in(exc) from None


def response_parameters(source=None):
    source = request.args if source is None else source
    values = {key: source.get(key) for key in ("attributes", "excludedAttributes") if source.get(key)}
    return validated(ResponseParameters, values, None) if values else None


def render(model, document, parameters=None):
    """One resource as the client asked for it."""
    return model.model_validate(document).model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE,
                                                     response_parameters=parameters)


def _integer(source, key):
    value = source.get(key)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidValueException(detail=_("%(key)s は整数で指定してください。", key=key)) from None


def list_parameters(body=None):
    """The list query of GET ?filter=… or of a POST /.search body (RFC 7644 §3.4.2, §3.4.3)."""
    if body is not None:
        search = validated(SearchRequest, body, Context.SEARCH_REQUEST)
        source = search.model_dump(scim_ctx=Context.SEARCH_REQUEST, mode="json")
        source = {key: (",".join(value) if isinstance(value, list) else value) for key, value in source.items()}
    else:
        source = request.args
    return {"filter_text": source.get("filter"), "sort_by": source.get("sortBy"), "sort_order": source.get("sortOrder"),
            "start_index": _integer(source, "startIndex") or 1, "count": _integer(source, "count")}, \
        response_parameters(source)


def list_response(model, resource_type, resources_of, body=None):
    """A ListResponse of the tenant's Users or Groups; `resources_of(rows)` makes their JSON."""
    query, parameters = list_parameters(body)
    page = scim_query.search(g.scim_tenant, resource_type, **query)
    resources = [render(model, document, parameters) for document in resources_of(page.rows)]
    return scim_response({"schemas": [LIST_SCHEMA], "totalResults": page.total, "startIndex": page.start_index,
                          "itemsPerPage": len(resources), "Resources": resources})


def check_version(current):
    """If-Match (RFC 7644 §3.14): a write on an older version is refused with 412."""
    wanted = request.headers.get("If-Match")
    if wanted is None or wanted.strip() == "*":
        return
    versions = [value.strip() for value in wanted.split(",")]
    if current not in versions and current.removeprefix("W/") not in versions:
        raise PreconditionFailedException(detail=_("リソースは別の変更で更新されています。取得し直してください。"))


def not_modified(current):
    """If-None-Match on a GET: the client's copy is current."""
    wanted = request.headers.get("If-None-Match")
    return wanted is not None and current in [value.strip() for value in wanted.split(",")]


def patched(model, document):
    """The resource after the request's PatchOp (RFC 7644 §3.5.2), as JSON keyed like a request body."""
    operations = validated(PatchOp[model], json_body(), Context.RESOURCE_PATCH_REQUEST)
    resource = model.model_validate(document)
    try:
        operations.patch(resource)
    except PydanticError as exc:
        raise _scim_error_in(exc) from None
    return resource.model_dump(scim_ctx=Context.DEFAULT, mode="json", by_alias=True, exclude_none=True)


def writable(model, context):
    """The request body as a resource of `model` (POST or PUT), as JSON."""
    resource = validated(model, json_body(), context)
    return resource.model_dump(scim_ctx=Context.DEFAULT, mode="json", by_alias=True, exclude_none=True)
