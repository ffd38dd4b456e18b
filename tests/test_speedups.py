"""What tests/support/speedups.py recycles across tests must not carry anything of one test into the next.

Each test here plays two tests in a row: an app on one fresh database, `speedups.new_test()` (what the
autouse fixture does between tests), then a second app on another fresh database."""
import shutil

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from conftest import STRONG_PASSWORD
from idp import create_app, keys
from idp.logs.audit import OPERATOR
from idp.models import Tenant
from idp.platform.extensions import db
from idp.platform.urls import issuer_for
from idp.tenancy import tenants

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def another_app(app, tmp_path, sqlite_schema):
    """A second app like `app`, on its own fresh SQLite database."""
    path = tmp_path / "second" / "idp.sqlite3"
    path.parent.mkdir()
    shutil.copyfile(sqlite_schema, path)
    url = "sqlite:///" + str(path)
    second = create_app({**app.config, "IDP_INSTANCE_DIR": str(path.parent), "IDP_DATABASE_URL": url,
                         "SQLALCHEMY_DATABASE_URI": url})
    yield second
    with second.app_context():
        db.session.remove()
        db.engine.dispose()


def _tenant_with_keys(app, clock, slug):
    """-> (kid, certificate's common name, the tenant's issuer) of the new tenant's RSA signing key, as the app
    signs with it and publishes it in the SAML metadata."""
    with app.app_context():
        created = tenants.create_tenant(slug=slug, company_name=f"{slug} 株式会社", owner_email=f"owner@{slug}.example.com",
                                        admin_email=f"admin@{slug}.example.com", admin_password=STRONG_PASSWORD,
                                        now=clock.now(), actor=OPERATOR)
        db.session.commit()
        loaded = keys.signing_key(created.tenant, "RS256", clock.now())
        [(metadata_certificate, _signing)] = keys.saml_certificates(created.tenant.id, clock.now())
        assert metadata_certificate == loaded.certificate
        certificate = x509.load_pem_x509_certificate(loaded.certificate.encode())
        common_name = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        return loaded.kid, common_name, issuer_for(slug)


def test_two_keys_of_one_test_differ_and_a_recycled_one_brings_nothing_of_the_test_before(
        app, another_app, clock, speedups):
    first_kid, first_name, alpha = _tenant_with_keys(app, clock, "alpha")
    second_kid, second_name, beta = _tenant_with_keys(app, clock, "beta")
    assert first_kid != second_kid
    assert (first_name, second_name) == (alpha, beta)

    speedups.new_test()
    recycled_kid, recycled_name, gamma = _tenant_with_keys(another_app, clock, "gamma")
    assert recycled_kid == first_kid  # the same key pair, so this checks what the app derived from it
    assert recycled_name == gamma


def test_statements_compiled_for_one_engine_run_right_on_another(app, another_app, factory, clock):
    factory.tenant("alpha")
    with another_app.app_context():
        tenants.create_tenant(slug="beta", company_name="beta 株式会社", owner_email="owner@beta.example.com",
                              admin_email="admin@beta.example.com", now=clock.now(), actor=OPERATOR)
        db.session.commit()
    query = select(Tenant.slug).order_by(Tenant.id)
    with app.app_context():
        assert db.session.scalars(query).all() == ["alpha"]
        first_cache = db.engine._compiled_cache
    with another_app.app_context():
        assert db.session.scalars(query).all() == ["beta"]
        assert db.engine._compiled_cache is first_cache
