"""The language of a page: the switch in the header (cookie), else OIDC `ui_locales`, else the browser's."""
from flask import has_request_context, request

from idp.web.sso import requested_ui_locale

LOCALES = ("ja", "en")
LANG_COOKIE = "lang"


def select_locale():
    if not has_request_context():
        return "ja"
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LOCALES:
        return chosen
    return requested_ui_locale(LOCALES) or request.accept_languages.best_match(LOCALES, default="ja")
