"""What a URL brings in, read without a 500 whatever a client sends.

- `<int:…>` in every route stops at the largest row id (MAX_ID): a larger number is a 404 like any unknown
  id, instead of an OverflowError from the database driver.
- Bytes that are not ASCII in the raw query string (a client that did not percent-encode them) are
  percent-encoded on arrival, so `request.args` decodes them as it does any escape, instead of raising
  UnicodeDecodeError. A well-formed query string, whose signature SAML may check, has none.
- A NUL character in a path segment, a query or form parameter is a 400 before any view: no person types
  one, and PostgreSQL refuses it in any string (the driver's ValueError would be a 500).
"""
import re

from flask import Request, abort, request
from werkzeug.routing import IntegerConverter

from idp.platform.validation import MAX_ID

NOT_ASCII = re.compile(rb"[\x80-\xff]")


class RowIdConverter(IntegerConverter):
    """Flask's `int` converter with `max` defaulting to MAX_ID (`<int(max=…):…>` still narrows it)."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class AsciiQueryRequest(Request):
    """Flask's request with the raw query string's non-ASCII bytes percent-encoded."""

    def __init__(self, environ, populate_request=True, shallow=False):
        super().__init__(environ, populate_request=populate_request, shallow=shallow)
        self.query_string = NOT_ASCII.sub(lambda byte: b"%%%02X" % byte.group()[0], self.query_string)


def refuse_nul():
    values = [value for _name, values in request.args.lists() for value in values]
    values += [value for value in (request.view_args or {}).values() if isinstance(value, str)]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        values += [value for _name, values in request.form.lists() for value in values]
    if any("\x00" in value for value in values):
        abort(400)


def init_app(app):
    """Before any blueprint adds its rules: a rule takes its converter when it is added."""
    app.url_map.converters["int"] = RowIdConverter
    app.request_class = AsciiQueryRequest
    app.before_request(refuse_nul)
