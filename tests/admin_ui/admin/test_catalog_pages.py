"""The SaaS catalog in the admin console (issue 17): サービス → 追加 (the picker, grouped, searched), a preset's
form (its inputs, name, groups; pattern errors per field), registration (an OIDC secret shown once), the setup
steps with our values on the app's page, the certificate and metadata downloads, English, CSRF, 404s."""
import re
from html import unescape

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from sqlalchemy import select

from idp import keys
from idp.catalog import presets
from idp.logs.audit import OPERATOR
from idp.models import App, AuditEvent
from idp.models.oidc import OidcClient
from idp.models.saml import SamlServiceProvider
from idp.platform.extensions import db
from idp.saml import registry as saml_registry
from idp.tenancy import tenants

BASE = "http://127.0.0.1:8000"
SECTION_RE = re.compile(r'<section class="catalog-category" data-catalog-category>\s*<h2>([^<]+)</h2>(.*?)</section>',
                        re.S)
PRESET_LINK_RE = re.compile(r'href="/admin/apps/add/([a-z0-9-]+)"')
SECRET_RE = re.compile(r'<span class="client-secret"><input type="text" readonly value="([^"]+)"')
OIDC_PRESET = """
id = "acme-chat"
name = "Acme Chat"
name_ja = "アクメチャット"
category = "communication"
protocol = "oidc"
brand_color = "#123456"
initials = "AC"
sources = ["https://docs.chat.example.com/sso"]
launch_url = "https://{team}.chat.example.com/"
plan_ja = "エンタープライズ"
plan_en = "Enterprise"

[[inputs]]
key = "team"
label_ja = "チーム名"
label_en = "Team name"
pattern = "[a-z]{3,20}"
example = "acme"

[oidc]
redirect_uris = ["https://{team}.chat.example.com/oidc/callback"]

[steps]
ja = ["{name}の管理画面で発行者に {issuer} を、クライアントIDに {client_id} を入力します。"]
en = ["In {name}, enter {issuer} as the issuer and {client_id} as the client ID."]
"""


@pytest.fixture
def oidc_preset(tmp_path, monkeypatch):
    """The packaged presets and an OIDC one of our own (the catalog may have none yet)."""
    (tmp_path / "acme-chat.toml").write_text(OIDC_PRESET, encoding="utf-8")
    monkeypatch.setattr(presets, "_loaded", {**presets.all_presets(), **presets.load(tmp_path)})
    return "acme-chat"


@pytest.fixture
def sales(factory, acme):
    return factory.group("acme", "営業")


def _sections(html):
    """{category label: [preset ids]} of the picker, in the page's order."""
    return {label: PRESET_LINK_RE.findall(body) for label, body in SECTION_RE.findall(html)}


def _app(app, app_id):
    with app.app_context():
        row = db.session.get(App, app_id)
        sp = db.session.scalar(select(SamlServiceProvider).where(SamlServiceProvider.app_id == app_id))
        return {"name": row.name, "preset": row.preset, "launch_url": row.launch_url,
                "groups": sorted(g.name for g in row.groups), "entity_id": sp.entity_id if sp else None,
                "acs": [e["url"] for e in sp.acs_list] if sp else None}


def _audit(app, app_id):
    with app.app_context():
        return [(e.action, e.actor_type, e.ip) for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.target_type == "app", AuditEvent.target_id == app_id))]


def _add_slack(submit, **overrides):
    response = submit("/admin/apps/add/slack", {"input_domain": "acme", "name": "", **overrides})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return int(response.location.rsplit("/", 1)[1])


# --- the picker ------------------------------------------------------------------------------------

def test_the_list_page_leads_to_the_picker(admin):
    html = admin.get("/admin/apps").get_data(as_text=True)
    assert 'href="/admin/apps/add">追加</a>' in html


def test_the_picker_lists_every_preset_in_its_category(admin):
    html = admin.get("/admin/apps/add").get_data(as_text=True)
    sections = _sections(html)
    expected = {}
    for preset in presets.all_presets().values():
        expected.setdefault(presets.CATEGORIES[preset.category]["ja"], []).append(preset.id)
    assert {label: sorted(ids) for label, ids in sections.items()} == {k: sorted(v) for k, v in expected.items()}
    order = [label for label in (c["ja"] for c in presets.CATEGORIES.values()) if label in sections]
    assert list(sections) == order  # the catalog's order of categories
    assert html.count('class="catalog-icon"') == len(presets.all_presets())
    slack = html[html.index('href="/admin/apps/add/slack"'):]
    assert slack.index('fill="#4A154B"') < slack.index('"catalog-name">Slack<') < slack.index("SAML 2.0") < (
        slack.index(presets.get("slack").plan_ja)) < slack.index("</a>")
    other = html.index("その他 (SAML)")  # the full forms after every preset
    assert html.rindex('href="/admin/apps/add/') < other < html.index("その他 (OpenID Connect)")
    assert 'href="/admin/apps/new/saml"' in html and 'href="/admin/apps/new/oidc"' in html


@pytest.mark.parametrize("query, shown", [
    ("slack", {"slack"}), ("SLA", {"slack"}), ("ｓｌａｃｋ", {"slack"}), ("google", {"google-workspace"}),
    ("zzz-nothing", set()),
])
def test_search_filters_by_name_without_script(admin, query, shown):
    html = admin.get("/admin/apps/add", query_string={"q": query}).get_data(as_text=True)
    found = {preset_id for ids in _sections(html).values() for preset_id in ids}
    assert found == shown
    assert f'name="q" value="{query}"' in html and "その他 (SAML)" in html
    empty = re.search(r"data-catalog-empty( hidden)?>該当するサービスがありません。", html)
    assert empty and bool(empty.group(1)) == bool(shown)  # the "nothing found" line only when nothing is


def test_search_finds_a_japanese_name(admin, oidc_preset):
    html = admin.get("/admin/apps/add", query_string={"q": "アクメ"}).get_data(as_text=True)
    assert {i for ids in _sections(html).values() for i in ids} == {oidc_preset}
    assert "アクメチャット" in html and "エンタープライズ" in html


# --- a preset's form -------------------------------------------------------------------------------

def test_the_form_shows_the_inputs_name_and_groups(admin, sales):
    html = admin.get("/admin/apps/add/slack").get_data(as_text=True)
    field = presets.get("slack").inputs[0]
    for text in (field.label_ja, field.help_ja, f"例: {field.example}", 'name="input_domain"',
                 'name="name" value="Slack"',
                 'name="groups" value="', "営業", "ACME株式会社", 'name="csrf_token"', ">登録</button>"):
        assert text in unescape(html), text


def test_a_saml_preset_registers_with_its_inputs(admin, submit, app, sales):
    app_id = _add_slack(submit, groups=[str(sales)])
    row = _app(app, app_id)
    assert row == {"name": "Slack", "preset": "slack", "launch_url": "https://acme.slack.com/", "groups": ["営業"],
                   "entity_id": "https://slack.com", "acs": ["https://acme.slack.com/sso/saml"]}
    assert _audit(app, app_id) == [("app.create", "admin", "127.0.0.1")]
    assert "サービスを保存しました。" in admin.get(f"/admin/apps/{app_id}").get_data(as_text=True)


def test_the_name_typed_wins(admin, submit, app):
    app_id = submit("/admin/apps/add/google-workspace", {"input_domain": "acme.co.jp", "name": "メール"}).location
    row = _app(app, int(app_id.rsplit("/", 1)[1]))
    assert row["name"] == "メール" and row["entity_id"] == "google.com/a/acme.co.jp"


@pytest.mark.parametrize("value, message", [
    ("", "入力してください。"),
    ("Acme Corp!", "形式が正しくありません（例: acme）。"),
    ("-acme", "形式が正しくありません（例: acme）。"),
    ("a" * 300, "形式が正しくありません（例: acme）。"),
])
def test_pattern_errors_are_shown_at_the_field(admin, submit, app, value, message):
    response = submit("/admin/apps/add/slack", {"input_domain": value, "name": "Slack"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "入力内容を確認してください。" in html
    field = html[html.index('name="input_domain"'):html.index('name="name"')]
    assert message in unescape(field) and 'aria-invalid="true"' in field
    assert f'value="{value}"' in field  # what was typed stays
    with app.app_context():
        assert db.session.scalar(select(App)) is None


def test_a_duplicate_entity_id_is_said_above_the_form(admin, submit, app):
    _add_slack(submit)
    response = submit("/admin/apps/add/slack", {"input_domain": "other", "name": "Slack 2"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "入力内容を確認してください。" in html
    assert re.search(r'<p class="field-error" role="alert">[^<]+</p>\s*<form', html)
    with app.app_context():
        assert len(db.session.scalars(select(App)).all()) == 1


def test_another_tenants_group_is_refused(admin, submit, app, factory):
    factory.tenant(slug="other")
    other_group = factory.group("other", "他社")
    response = submit("/admin/apps/add/slack", {"input_domain": "acme", "groups": [str(other_group)]})
    assert response.status_code == 200 and "グループが見つかりません。" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(App)) is None


@pytest.mark.parametrize("preset_id", ["no-such-service", "SLACK", "..%2F..%2Fetc", "a" * 300])
def test_unknown_preset_is_404(admin, post, app, preset_id):
    assert admin.get(f"/admin/apps/add/{preset_id}").status_code == 404
    response = post("/admin/apps/add/slack", f"/admin/apps/add/{preset_id}", {"input_domain": "acme"})
    assert response.status_code == 404
    with app.app_context():
        assert db.session.scalar(select(App)) is None


def test_csrf_is_required(admin, app):
    response = admin.post("/admin/apps/add/slack", data={"input_domain": "acme", "name": "Slack"})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(App)) is None


def test_users_and_visitors_may_not(client, app, factory, login):
    assert client.get("/admin/apps/add").status_code == 302  # to the login page
    factory.tenant()
    factory.account()
    login()
    assert client.get("/admin/apps/add").status_code == 403
    assert client.get("/admin/apps/add/slack").status_code == 403


def test_an_oidc_preset_shows_its_secret_once(admin, submit, app, oidc_preset):
    response = submit(f"/admin/apps/add/{oidc_preset}", {"input_team": "acme", "name": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    secret = SECRET_RE.search(html).group(1)
    app_id = int(re.search(r'href="/admin/apps/(\d+)"', html).group(1))
    with app.app_context():
        client = db.session.scalar(select(OidcClient).where(OidcClient.app_id == app_id))
        assert client.redirect_uri_list == ["https://acme.chat.example.com/oidc/callback"]
        assert client.app.name == "Acme Chat" and client.app.preset == oidc_preset  # blank: the brand name
        client_id = client.client_id
    detail = admin.get(f"/admin/apps/{app_id}").get_data(as_text=True)
    assert secret not in detail
    steps = detail[detail.index('<ol class="setup-steps">'):detail.index("</ol>")]
    assert f'<code class="copy-value">{client_id}</code>' in steps
    assert f'<code class="copy-value">{BASE}/t/acme</code>' in steps and "アクメチャットの管理画面で" in steps
    assert offers_downloads(detail)  # every app made from a preset offers them


def offers_downloads(html):
    return "/certificate.pem" in html and "/idp-metadata.xml" in html


# --- the app's page: steps and downloads -----------------------------------------------------------

def test_the_steps_show_our_real_values_with_copy_buttons(admin, submit):
    app_id = _add_slack(submit)
    html = admin.get(f"/admin/apps/{app_id}").get_data(as_text=True)
    steps = re.findall(r"<li>(.*?)</li>", html[html.index('<ol class="setup-steps">'):html.index("</ol>")], re.S)
    assert len(steps) == len(presets.get("slack").steps.ja)
    joined = "".join(steps)
    for value in (f"{BASE}/t/acme/saml/sso", f"{BASE}/t/acme/saml/metadata",
                  f"{BASE}/admin/apps/{app_id}/certificate.pem"):
        assert f'<code class="copy-value">{value}</code><button type="button" data-copy' in joined, value
    assert "{" not in joined and "}" not in joined  # every placeholder filled
    assert "設定手順" in html and offers_downloads(html)


def test_a_preset_app_is_edited_like_any_other_and_keeps_its_steps(admin, submit, app):
    app_id = _add_slack(submit)
    form = admin.get(f"/admin/apps/{app_id}/edit").get_data(as_text=True)
    assert "https://acme.slack.com/sso/saml" in form
    response = submit(f"/admin/apps/{app_id}/edit", {
        "name": "Slack（本社）", "entity_id": "https://slack.com", "acs_urls": "https://acme.slack.com/sso/saml",
        "nameid_format": "persistent", "sign": "both", "attribute_preset": "basic", "attr_email": "User.Email"})
    assert response.status_code == 302
    assert _app(app, app_id)["name"] == "Slack（本社）" and _app(app, app_id)["preset"] == "slack"
    html = admin.get(f"/admin/apps/{app_id}").get_data(as_text=True)
    assert "設定手順" in html and f"{BASE}/t/acme/saml/sso</code>" in html


def test_a_hand_made_saml_app_offers_the_downloads_without_steps(admin, app, acme):
    with app.app_context():
        tenant = tenants.get_by_slug("acme")
        created = saml_registry.register(tenant, saml_registry.SpSettings(
            name="勤怠", entity_id="https://sp.example.com", acs_urls=["https://sp.example.com/acs"]),
            now=tenant.created_at, actor=OPERATOR)
        db.session.commit()
        app_id = created.app.id
    html = admin.get(f"/admin/apps/{app_id}").get_data(as_text=True)
    assert offers_downloads(html) and "設定手順" not in html


def test_the_certificate_is_our_current_signing_certificate(admin, submit):
    app_id = _add_slack(submit)
    response = admin.get(f"/admin/apps/{app_id}/certificate.pem")
    assert response.status_code == 200 and response.mimetype == "application/x-pem-file"
    assert response.headers["Content-Disposition"] == 'attachment; filename="acme-saml-signing.pem"'
    certificate = x509.load_pem_x509_certificate(response.data)
    metadata = admin.get("/t/acme/saml/metadata").get_data(as_text=True)
    body = "".join(response.get_data(as_text=True).strip().splitlines()[1:-1])
    assert body in metadata and certificate.not_valid_after_utc > certificate.not_valid_before_utc


def test_zendesk_gets_the_fingerprint_to_paste_and_a_new_one_after_rotation(admin, submit, app, clock):
    """Zendesk pins the SHA-256 fingerprint, not the certificate: the step shows it, with a copy button."""
    response = submit("/admin/apps/add/zendesk", {"input_subdomain": "acme", "name": ""})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    app_id = int(response.location.rsplit("/", 1)[1])

    def shown_and_downloaded():
        html = admin.get(f"/admin/apps/{app_id}").get_data(as_text=True)
        certificate = x509.load_pem_x509_certificate(admin.get(f"/admin/apps/{app_id}/certificate.pem").data)
        expected = certificate.fingerprint(hashes.SHA256()).hex(":").upper()
        return html, expected

    html, fingerprint = shown_and_downloaded()
    assert re.fullmatch(r"([0-9A-F]{2}:){31}[0-9A-F]{2}", fingerprint)
    assert f'<code class="copy-value">{fingerprint}</code><button type="button" data-copy' in html
    assert "openssl" not in html and "{certificate_sha256}" not in html
    with app.app_context():
        keys.rotate(tenants.get_by_slug("acme"), clock.now(), prepublish=0)
        db.session.commit()
    clock.advance(minutes=1)
    html, rotated = shown_and_downloaded()
    assert rotated != fingerprint and f'<code class="copy-value">{rotated}</code>' in html


def test_the_metadata_download_is_our_metadata(admin, submit):
    app_id = _add_slack(submit)
    response = admin.get(f"/admin/apps/{app_id}/idp-metadata.xml")
    assert response.status_code == 200 and response.mimetype == "application/samlmetadata+xml"
    assert response.headers["Content-Disposition"] == 'attachment; filename="acme-idp-metadata.xml"'
    assert response.data == admin.get("/t/acme/saml/metadata").data
    assert f'entityID="{BASE}/t/acme/saml/metadata"'.encode() in response.data


def test_another_tenants_app_is_404_on_the_downloads(admin, app, factory):
    factory.tenant(slug="other")
    with app.app_context():
        other = tenants.get_by_slug("other")
        created = saml_registry.register(other, saml_registry.SpSettings(
            name="他社", entity_id="https://sp.other.example.com", acs_urls=["https://sp.other.example.com/acs"]),
            now=other.created_at, actor=OPERATOR)
        db.session.commit()
        app_id = created.app.id
    for suffix in ("", "/certificate.pem", "/idp-metadata.xml"):
        assert admin.get(f"/admin/apps/{app_id}{suffix}").status_code == 404, suffix
    assert admin.get("/admin/apps/999999/certificate.pem").status_code == 404


# --- English ---------------------------------------------------------------------------------------

def test_english_labels(admin, submit):
    app_id = _add_slack(submit)
    admin.set_cookie("lang", "en")
    slack = presets.get("slack")
    picker = admin.get("/admin/apps/add").get_data(as_text=True)
    assert "<h2>Communication</h2>" in picker and slack.plan_en in picker and "コミュニケーション" not in picker
    form = unescape(admin.get("/admin/apps/add/slack").get_data(as_text=True))
    assert slack.inputs[0].label_en in form and slack.inputs[0].help_en in form and "App name" in form
    assert "Groups allowed" in form and slack.inputs[0].label_ja not in form
    detail = unescape(admin.get(f"/admin/apps/{app_id}").get_data(as_text=True))
    first = slack.steps.en[0]
    assert first in detail and slack.steps.ja[0] not in detail and slack.unsourced_en in detail
