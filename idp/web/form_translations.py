"""WTForms' own messages in the request's language, one catalog per language per process.

flask-wtf reads WTForms' message catalog from disk on every request that builds a form (~0.15 ms,
twice per login); it first looks for `request.wtforms_translations`, so each request gets this
process-wide object, which picks the catalog of the request's locale (flask-babel) when used.
"""
from babel import support
from flask import request
from flask_babel import get_locale
from wtforms.i18n import messages_path


class _PerLocale:
    def __init__(self):
        self._catalogs = {}

    def _catalog(self):
        locale = str(get_locale())
        catalog = self._catalogs.get(locale)
        if catalog is None:
            catalog = self._catalogs[locale] = support.Translations.load(messages_path(), [locale], domain="wtforms")
        return catalog

    def ugettext(self, string):
        return self._catalog().ugettext(string)

    def ungettext(self, singular, plural, n):
        return self._catalog().ungettext(singular, plural, n)


def init_app(app):
    catalogs = _PerLocale()

    @app.before_request
    def _wtforms_translations():
        request.wtforms_translations = catalogs
