"""The form session's cookie (idp.web.form_session): one serializer per secret, Flask's rules unchanged."""
from flask import session


def _cookie_from(app):
    with app.test_request_context():
        session["note"] = "kept"
        response = app.make_response("")
        app.session_interface.save_session(app, session, response)
        return response.headers["Set-Cookie"].split(";")[0].split("=", 1)[1]


def _read(app, cookie):
    with app.test_request_context(headers={"Cookie": f"idp_form={cookie}"}):
        return dict(app.session_interface.open_session(app, _request()))


def _request():
    from flask import request
    return request


def test_a_cookie_reads_back_and_a_new_secret_refuses_it_unless_it_is_a_fallback(app):
    cookie = _cookie_from(app)
    assert _read(app, cookie) == {"note": "kept"}
    old = app.secret_key
    app.secret_key = app.config["SECRET_KEY"] = "another secret of enough length 1234567890"
    try:
        assert _read(app, cookie) == {}  # signed with the old secret: an empty session
        app.config["SECRET_KEY_FALLBACKS"] = [old]
        assert _read(app, cookie) == {"note": "kept"}
    finally:
        app.secret_key = app.config["SECRET_KEY"] = old
        app.config["SECRET_KEY_FALLBACKS"] = []
