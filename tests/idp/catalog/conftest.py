"""Catalog fixtures: a tenant with a user whose every profile value is set (so each attribute a preset maps
has a value), and `add_preset`, which registers a preset like the admin does (committed)."""
from types import SimpleNamespace

import pytest

from idp.catalog import registration
from idp.directory import groups
from idp.logs.audit import OPERATOR
from idp.platform.extensions import db
from idp.tenancy import tenants
from tests.support.cli_runner import cli  # noqa: F401  (a fixture)

ACCOUNT = {"email": "taro@acme.example.com", "name": "山田 太郎", "phone": "0312345678",
           "organization": "ACME株式会社 本社", "department": "経理部"}


@pytest.fixture
def acme(factory):
    factory.tenant("acme")
    factory.account("acme", **ACCOUNT)
    return "acme"


@pytest.fixture
def add_preset(app, clock, acme):
    """add_preset(preset_id, inputs, **options) -> SimpleNamespace(app_id, preset, sp_id | client_id, …)."""
    def _add(preset_id, inputs, **options):
        with app.app_context():
            tenant = tenants.get_by_slug("acme")
            options.setdefault("groups", [groups.default_group(tenant)])
            created = registration.register(tenant, preset_id, inputs, now=clock.now(), actor=OPERATOR, **options)
            db.session.commit()
            extra = ({"sp_id": created.sp.id} if hasattr(created, "sp") else {})
            return SimpleNamespace(**created.as_json(), **extra, preset=created.app.preset,
                                   launch_url=created.app.launch_url)
    return _add
