"""The `api` blueprint under /t/<tenant>/api/v1 and its spectree instance.

Per request: the tenant from the URL (unknown or terminated: 404) → the caller from the bearer token
(auth.py; not for the OpenAPI document) → a JSON body is read and checked once (415 when it is not
JSON, 400 when it cannot be parsed or holds what no database stores: NUL, unpaired surrogates) →
spectree validates query and body against the view's pydantic models (422 problem+json) → the view calls
one console use-case and commits. Errors: problems.py."""
from flask import Blueprint, current_app, g, request
from spectree import SpecTree

from idp.platform.clock import current_time
from idp.web.errors import DATABASE_UNAVAILABLE
from idp.web.tenant_urls import tenant_from_url
from protocols.api import problems
from protocols.api.auth import authorise
from protocols.api.problems import ApiProblem
from protocols.api.schemas import Problem

PREFIX = "/t/<tenant_slug>/api/v1"
PUBLIC_ENDPOINTS = {"api.openapi"}
BODY_METHODS = ("POST", "PUT", "PATCH")

bp = Blueprint("api", __name__, url_prefix=PREFIX)
problems.register(bp, DATABASE_UNAVAILABLE)


def _field(location):
    return ".".join(str(part) for part in location) or "body"


def _before(_request, _response, validation_error, _instance, _adapter):
    """spectree's hook after its validation: a refused request becomes a 422 problem with `errors` per field."""
    if validation_error is not None:
        errors = {}
        for error in validation_error.errors(include_url=False, include_input=False):
            errors.setdefault(_field(error["loc"]), []).append(error["msg"])
        raise ApiProblem(422, "The request has invalid values.", errors=errors, kind="validation")


def _after(_request, _response, validation_error, _instance, _adapter):
    if validation_error is not None:  # our own answer does not match its schema: a bug, answered as a 500
        raise RuntimeError(f"admin API response does not match its schema: {validation_error}")


spec = SpecTree("flask", mode="strict", title="まとめログイン admin API", version="1.0.0", page_templates={},
                path="_spectree", before=_before, after=_after, validation_error_status=422,
                validation_error_model=Problem, naming_strategy=lambda model: model.__name__,
                nested_naming_strategy=lambda _parent, child: child)


@bp.url_value_preprocessor
def _load_tenant(_endpoint, values):
    g.api_tenant = tenant_from_url(values)


@bp.before_request
def _authorise_and_read():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    g.api_caller = authorise(g.api_tenant, current_time())
    metadata = spec.get_function_metadata(current_app.view_functions[request.endpoint])
    if request.method in BODY_METHODS and metadata is not None and metadata.json is not None:
        _read_json()


def _read_json():
    if not request.is_json:
        raise ApiProblem(415, "Send a JSON body (Content-Type: application/json).")
    body = request.get_json(silent=True)
    if body is None:
        raise ApiProblem(400, "The body is not valid JSON.")
    if not _storable(body):
        raise ApiProblem(400, "The body holds characters that cannot be stored (NUL or unpaired surrogates).")


def _storable(value):
    if isinstance(value, str):
        if "\x00" in value:
            return False
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(_storable(key) and _storable(item) for key, item in value.items())
    if isinstance(value, list):
        return all(_storable(item) for item in value)
    return True


def no_content():
    return "", 204


@bp.after_request
def _no_content_type_without_content(response):
    if response.status_code == 204:
        response.headers.pop("Content-Type", None)
    return response


def tenant():
    return g.api_tenant


def audit_context():
    """now, actor and client for a console use-case (the actor is the API client, by its app's name)."""
    caller = g.api_caller
    return {"now": current_time(), "actor": caller.actor, "client": caller.client}
