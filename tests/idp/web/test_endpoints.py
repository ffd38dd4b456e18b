"""The core and the protocols redirect to pages of admin_ui by the names in idp.web.endpoints."""
from idp.web.endpoints import ENDPOINTS, login_url


def test_every_endpoint_the_core_names_is_defined(app):
    defined = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert set(ENDPOINTS) <= defined


def test_the_login_url_carries_the_page_to_resume(app):
    with app.test_request_context():
        assert login_url(next="/t/acme/oidc/authorize?x=1") == "/login?next=/t/acme/oidc/authorize?x%3D1"
        assert login_url("acme", next="/t/acme/saml/launch/1") == "/t/acme/login?next=/t/acme/saml/launch/1"
