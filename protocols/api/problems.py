"""Every error of the admin API as RFC 9457 problem details (`application/problem+json`): the service
errors of idp.console (ValidationError 422 with `errors` per field, NotFound 404, Conflict and any other
refusal 409, RateLimited 429), spectree's request validation (422), HTTP errors (400, 404, 405, 415 …),
the database unreachable (503) and anything unexpected (500, details to the log only).

The `type` of a problem is `about:blank` (RFC 9457 4.2.1: the status code says it all) except for the
few this API defines (docs/api.md): urn:matome:api:problem:validation, refused, unauthorized,
invalid_token, insufficient_scope."""
import logging

from flask import jsonify
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.http import HTTP_STATUS_CODES

from idp.platform.errors import Conflict, NotFound, ServiceError, ValidationError
from idp.platform.extensions import db
from idp.platform.ratelimit import RateLimited

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:matome:api:problem:"
NO_STORE = {"Cache-Control": "no-store"}


class ApiProblem(Exception):
    """An error answered as it is: status, detail, optional field `errors`, `type` and extra headers."""

    def __init__(self, status, detail="", *, errors=None, kind=None, headers=None):
        super().__init__(detail)
        self.status, self.detail, self.errors = status, detail, errors
        self.kind, self.headers = kind, headers or {}


def problem_response(status, detail="", *, errors=None, kind=None, headers=None):
    body = {"type": TYPE_PREFIX + kind if kind else "about:blank", "title": HTTP_STATUS_CODES.get(status, "Error"),
            "status": status}
    if detail:
        body["detail"] = str(detail)
    if errors:
        body["errors"] = {field: [str(message) for message in messages] for field, messages in errors.items()}
    response = jsonify(body)
    response.status_code = status
    response.mimetype = MEDIA_TYPE
    response.headers.update(NO_STORE)
    response.headers.update(headers or {})
    return response


def _api_problem(exc):
    db.session.rollback()
    return problem_response(exc.status, exc.detail, errors=exc.errors, kind=exc.kind, headers=exc.headers)


def _service_error(exc):
    """The console's refusals: what they say is safe to show (their `message`); the detail goes to the log."""
    db.session.rollback()
    log.info("admin API refused: %s", exc.detail)
    if isinstance(exc, ValidationError):
        return problem_response(422, exc.message, errors=exc.errors, kind="validation")
    if isinstance(exc, RateLimited):
        return problem_response(429, exc.message, headers={"Retry-After": str(exc.retry_after)})
    if isinstance(exc, NotFound):
        return problem_response(404, exc.message)
    errors = {"accounts": [f"{a['name']} <{a['email']}>" for a in exc.accounts]} if hasattr(exc, "accounts") else None
    return problem_response(409, exc.message, errors=errors, kind=None if isinstance(exc, Conflict) else "refused")


def _http_error(exc):
    if exc.code is None or exc.code < 400:
        return exc
    db.session.rollback()
    headers = {"Allow": ", ".join(sorted(exc.valid_methods or ()))} if isinstance(exc, MethodNotAllowed) else None
    return problem_response(exc.code, HTTP_STATUS_CODES.get(exc.code, ""), headers=headers)


def _database_unavailable(exc):
    try:
        db.session.rollback()
    except Exception:  # the connection is gone: the session is discarded at teardown anyway
        pass
    log.error("database unavailable: %s: %s", type(exc).__name__, str(getattr(exc, "orig", exc)).strip()[:300])
    return problem_response(503, "The service is temporarily unavailable, try again later.",
                            headers={"Retry-After": "5"})


def _unexpected_error(exc):
    db.session.rollback()
    log.exception("unexpected error in the admin API")
    return problem_response(500, "An unexpected error occurred.")


def register(bp, database_errors):
    """The blueprint's error handlers (they win over the app's pages for the blueprint's requests)."""
    bp.register_error_handler(ApiProblem, _api_problem)
    bp.register_error_handler(ServiceError, _service_error)
    bp.register_error_handler(HTTPException, _http_error)
    for error in database_errors:
        bp.register_error_handler(error, _database_unavailable)
    bp.register_error_handler(Exception, _unexpected_error)


def routing_error(exc):
    """A URL under the API that matches no route (or not with this method): before any view runs, so the
    blueprint's handlers are not asked; the same problem+json as theirs."""
    return _http_error(exc)
