"""Secrets out of log lines: one-time link tokens, authorization codes, ID token and login hints.

A request line such as `GET /activate/<token>` or `/t/acme/oidc/logout?id_token_hint=<JWT>` would
otherwise keep a usable link, or a signed token with the user's e-mail, name and session, in every
access log. `redact(text)` rewrites any text that may hold a path or URL (a request line, a bare
query string, a Referer, a `next=` parameter where `&` and `=` are percent-encoded):

    /activate/[redacted]      /password/reset/[redacted]      ?code=[redacted]&state=st-1

`RedactingFilter` applies it to a finished log record. `install()` puts it on the loggers that print
request paths: werkzeug's request log (`idp run` / `flask run`), granian's access log and its own
log (`idp serve`, whose log handlers carry the filter too; also when granian is started by hand),
gunicorn's access and error logs (also when gunicorn runs without idp/web/gunicorn_conf.py, whose
logger class does the same) and Flask's own app logger ("Exception on /activate/… [POST]"). The
app's other log lines never include tokens, codes or passwords in the first place.
"""
import logging
import re

REDACTED = "[redacted]"

# The link pages whose last path segment is a token (every route with a `<token>` argument):
# /activate, /password/reset, /contract/activate, /contract/password/reset, /signup/verify,
# /contract/handover, /admin/accounts/import. tests/idp/platform/test_log_redaction.py checks the
# list against the app's URL map.
LINK_PREFIXES = ("activate", "password/reset", "signup/verify", "handover", "accounts/import")

# Query or form parameters that carry a credential, a code or a signed token about the user.
SECRET_PARAMETERS = ("code", "code_verifier", "id_token_hint", "id_token", "login_hint", "logout_hint",
                     "access_token", "refresh_token", "token", "client_secret", "client_assertion",
                     "password", "SAMLRequest", "SAMLResponse")

_SLASH = "(?:/|%2[fF])"
_LINK_PATH = re.compile(
    "(" + _SLASH + "(?:" + "|".join(p.replace("/", _SLASH) for p in LINK_PREFIXES) + ")" + _SLASH + ")"
    + r"""[^/?#&\s"'%]+""")
# A parameter starts the text (a bare query string) or follows ? & ; or a space, also percent-encoded
# inside another parameter's value (`next=/t/acme/oidc/authorize?client_id%3D…%26login_hint%3D…`);
# its value ends at the next separator. Names are case-sensitive, as OAuth's and SAML's are.
_PARAMETER = re.compile(
    r"((?:^|[?&;\s]|%26|%3[fF])(?:" + "|".join(SECRET_PARAMETERS) + r")(?:=|%3[dD]))"
    + r"""(?:(?!%26)[^&#\s"'])*""")


def redact(text):
    """`text` with link tokens and secret parameter values replaced by `[redacted]`."""
    if not text:
        return text
    text = _LINK_PATH.sub(r"\1" + REDACTED, text)
    return _PARAMETER.sub(r"\1" + REDACTED, text)


class RedactingFilter(logging.Filter):
    """Rewrites a record whose message holds a secret into the redacted message (no arguments)."""

    def filter(self, record):
        try:
            message = record.getMessage()
        except Exception:  # a broken format: the handler reports it, as without this filter
            return True
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


FILTER = RedactingFilter()
REQUEST_LOGGERS = ("werkzeug", "granian.access", "_granian", "gunicorn.access", "gunicorn.error")


def install(app_logger_name="idp"):
    """Put the filter on the loggers that print request paths (idempotent).

    A logger's filter sees only the records made on that logger, not those of its children, so each
    one is named; the app's own module loggers (`idp.…`) are kept free of secrets at the source.
    """
    for name in (*REQUEST_LOGGERS, app_logger_name):
        logging.getLogger(name).addFilter(FILTER)
