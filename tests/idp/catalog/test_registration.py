"""Adding a service from the catalog: input validation, what is registered and stored, the setup steps, the icon."""
import json

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import select

from idp.catalog import icons, presets, registration
from idp.catalog.steps import steps_for
from idp.directory import groups
from idp.logs.audit import OPERATOR
from idp.models import App, AuditEvent
from idp.models.saml import SamlServiceProvider
from idp.platform.errors import ValidationError
from idp.platform.extensions import db
from idp.tenancy import tenants

BASE = "http://127.0.0.1:8000"


@pytest.mark.parametrize("inputs, errors", [
    ({"domain": "acme"}, {}),
    ({"domain": "  acme  "}, {}),
    ({}, {"domain": ["入力してください。"]}),
    ({"domain": ""}, {"domain": ["入力してください。"]}),
    ({"domain": "ACME.slack.com"}, {"domain": ["形式が正しくありません（例: acme）。"]}),
    ({"domain": "a" * 64}, {"domain": ["形式が正しくありません（例: acme）。"]}),
    ({"domain": "acme", "tenant": "x"}, {"tenant": ["このサービスにはない入力項目です。"]}),
])
def test_input_errors_follow_the_presets_patterns(app, inputs, errors):
    with app.test_request_context():
        found = registration.input_errors(presets.get("slack"), inputs)
        assert {key: [str(m) for m in messages] for key, messages in found.items()} == errors


def test_slack_registers_a_saml_app_with_the_vendors_values(app, add_preset):
    created = add_preset("slack", {"domain": "acme"}, name="Slack（本社）")
    assert created.entity_id == "https://slack.com" and created.preset == "slack"
    assert created.launch_url == "https://acme.slack.com/"
    with app.app_context():
        row = db.session.get(App, created.app_id)
        sp = db.session.scalar(select(SamlServiceProvider).where(SamlServiceProvider.app_id == row.id))
        assert (row.name, row.protocol, row.preset, json.loads(row.preset_inputs)) == (
            "Slack（本社）", "saml", "slack", {"domain": "acme"})
        assert [e["url"] for e in sp.acs_list] == ["https://acme.slack.com/sso/saml"]
        assert (sp.nameid_format, sp.sign, sp.attribute_names) == ("persistent", "both", {"email": "User.Email"})
        assert [g.name for g in row.groups] == ["ACME株式会社"]
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "app.create"))
        assert (event.target_id, event.actor_type) == (row.id, "operator")
        assert event.changes["entity_id"] == "https://slack.com"


def test_the_default_name_is_the_services_and_the_tile_keeps_idp_initiated_without_launch_url(app, add_preset):
    created = add_preset("google-workspace", {"domain": "acme.co.jp"})
    with app.app_context():
        row = db.session.get(App, created.app_id)
        assert row.name == "Google Workspace" and created.entity_id == "google.com/a/acme.co.jp"
        assert row.launch_url == "https://mail.google.com/a/acme.co.jp"


@pytest.mark.parametrize("preset_id, inputs, errors", [
    ("no-such-service", {}, {"preset": ["このサービスはカタログにありません。"]}),
    (None, {}, {"preset": ["このサービスはカタログにありません。"]}),
    ("slack", {"domain": "-bad"}, {"domain": ["形式が正しくありません（例: acme）。"]}),
    ("slack", {"domain": "acme"}, {"name": ["200文字以内で入力してください。"]}),
])
def test_bad_registrations_raise_field_errors_and_create_nothing(app, acme, clock, preset_id, inputs, errors):
    with app.test_request_context():
        tenant = tenants.get_by_slug("acme")
        with pytest.raises(ValidationError) as refused:
            registration.register(tenant, preset_id, inputs, now=clock.now(), actor=OPERATOR,
                                  name="x" * 201 if "name" in errors else None)
        got = {key: [str(m) for m in messages] for key, messages in refused.value.errors.items()}
        if "name" in errors:
            assert list(got) == ["name"] and got["name"]
        else:
            assert got == errors
        db.session.rollback()
        assert db.session.scalar(select(App).where(App.tenant_id == tenant.id)) is None


def test_a_second_slack_of_the_same_company_is_refused_under_preset(app, add_preset, clock):
    add_preset("slack", {"domain": "acme"})
    with app.test_request_context():
        tenant = tenants.get_by_slug("acme")
        with pytest.raises(ValidationError) as refused:
            registration.register(tenant, "slack", {"domain": "acme2"}, now=clock.now(), actor=OPERATOR)
        assert {k: [str(m) for m in v] for k, v in refused.value.errors.items()} == {
            "preset": ["このエンティティIDはすでに登録されています。"]}


def test_steps_are_filled_with_our_values_and_the_inputs(app, add_preset):
    created = add_preset("slack", {"domain": "acme"})
    with app.test_request_context():
        tenant = tenants.get_by_slug("acme")
        row = db.session.get(App, created.app_id)
        ja, en = steps_for(row, tenant, "ja"), steps_for(row, tenant, "en")
    preset = presets.get("slack")
    assert len(ja) == len(preset.steps.ja) and len(en) == len(preset.steps.en)
    text = "\n".join(ja)
    assert f"{BASE}/t/acme/saml/sso" in text and f"{BASE}/t/acme/saml/metadata" in text
    assert f"{BASE}/admin/apps/{created.app_id}/certificate.pem" in text
    assert "{" not in text + "".join(en) and "ワークスペース" in text and "Workspace settings" in "".join(en)


def test_oidc_steps_name_the_client_id_and_where_the_secret_is(app, add_preset, monkeypatch):
    from tests.idp.catalog.test_presets_sso import FIXTURES, _preset
    _preset(FIXTURES / "example-oidc.toml", monkeypatch)
    created = add_preset("example-oidc", {"tenant": "acme"})
    assert created.client_id and created.client_secret and created.preset == "example-oidc"
    with app.test_request_context():
        tenant = tenants.get_by_slug("acme")
        row = db.session.get(App, created.app_id)
        assert row.launch_url == "https://acme.example.com/"
        with force_locale("en"):  # the note is a msgid of ours, in the admin's language (idp/translations)
            note = gettext("登録時に一度だけ表示されたクライアントシークレット")
        assert steps_for(row, tenant, "en") == [
            f"In Example OIDC's admin screen, enter {BASE}/t/acme as the issuer.",
            f"Enter {created.client_id} as the client ID and {note} as the client secret."]
        assert steps_for(row, tenant, "ja")[1] == (
            f"「クライアントID」に {created.client_id}、「クライアントシークレット」に登録時に一度だけ表示された"
            "クライアントシークレットを入力します。")


def test_an_app_without_a_preset_has_no_steps(app, acme, clock):
    from idp.apps.catalogue import create_bookmark_app
    with app.test_request_context():
        tenant = tenants.get_by_slug("acme")
        row = create_bookmark_app(tenant, name="社内Wiki", launch_url="https://wiki.example.com/", now=clock.now(),
                                  actor=OPERATOR, groups=[groups.default_group(tenant)])
        assert steps_for(row, tenant, "ja") == []
        row.preset, row.preset_inputs = "a-removed-preset", "{}"
        assert steps_for(row, tenant, "en") == []


def test_the_icon_is_our_svg_with_initials_on_the_brand_colour():
    slack = presets.get("slack")
    drawn = icons.svg(slack)
    assert drawn.startswith("<svg ") and drawn.endswith("</svg>")
    assert 'fill="#4A154B"' in drawn and ">Sl</text>" in drawn and 'fill="#FFFFFF"' in drawn
    assert 'aria-label="Slack"' in drawn and "<image" not in drawn and "href" not in drawn
    hostile = slack.model_copy(update={"name": 'A"<script>', "initials": "<b"})
    assert "<script>" not in icons.svg(hostile) and "&lt;b</text>" in icons.svg(hostile)
