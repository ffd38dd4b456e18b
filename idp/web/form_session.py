"""Flask's signed-cookie session (the form session `idp_form`: CSRF token, flashes, pending steps) with
its signing serializer built once per secret instead of twice per request (Flask builds one in
`open_session` and again in `save_session`; with its HMAC key derivation that is ~0.03 ms of every
request). Same cookie, same keys (SECRET_KEY, then SECRET_KEY_FALLBACKS), same salt and format."""
from flask.sessions import SecureCookieSessionInterface


class FormSessionInterface(SecureCookieSessionInterface):
    def __init__(self):
        self._serializers = {}

    def get_signing_serializer(self, app):
        if not app.secret_key:
            return None
        key = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        serializer = self._serializers.get(key)
        if serializer is None:
            self._serializers.clear()  # a changed secret replaces the old serializer
            serializer = self._serializers[key] = super().get_signing_serializer(app)
        return serializer


def init_app(app):
    app.session_interface = FormSessionInterface()
