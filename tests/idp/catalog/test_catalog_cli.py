"""`idp catalog list [--json]` and `idp app add --preset … --input KEY=VALUE … --json` (CliRunner, in-process)."""
import pytest
from sqlalchemy import select

from idp.catalog import presets
from idp.models import App
from idp.platform.extensions import db
from tests.support.cli_runner import ok_json

pytestmark = pytest.mark.sqlite_only  # no storage-specific behaviour here: SQLite alone (conftest.py)


def one_error_line(result, exit_code=1):
    assert result.exit_code == exit_code, (result.stdout, result.stderr, result.exception)
    assert result.stdout == "" and "Traceback" not in result.stderr
    return result.stderr


def test_catalog_list_json_has_every_preset_with_its_inputs_and_sources(cli):
    data = ok_json(cli("catalog", "list", "--json"))
    listed = {item["id"]: item for item in data["presets"]}
    assert list(listed) == list(presets.all_presets())
    assert listed["slack"] == {
        "id": "slack", "name": "Slack", "name_ja": "", "category": "communication", "protocol": "saml",
        "plan_ja": "ビジネスプラス プラン以上", "plan_en": "Business+ plan or higher",
        "inputs": [{"key": "domain", "label_ja": "ワークスペースのサブドメイン", "label_en": "Workspace subdomain",
                    "pattern": "[a-z0-9][a-z0-9-]{0,62}", "example": "acme"}],
        "sources": list(presets.get("slack").sources)}
    assert all(item["sources"] and item["protocol"] in ("saml", "oidc") for item in listed.values())


def test_catalog_list_text(cli):
    result = cli("catalog", "list")
    assert result.exit_code == 0
    assert "slack" in result.stdout and "--input domain=…  (Workspace subdomain, e.g. acme)" in result.stdout


def test_app_add_from_a_preset_prints_the_add_saml_keys_and_preset(app, cli, acme):
    data = ok_json(cli("app", "add", "--tenant", "acme", "--preset", "slack", "--input", "domain=acme",
                       "--group", "ACME株式会社", "--json"))
    assert set(data) == {"app_id", "entity_id", "preset"}
    assert (data["entity_id"], data["preset"]) == ("https://slack.com", "slack")
    with app.app_context():
        row = db.session.get(App, data["app_id"])
        assert (row.name, row.preset, row.launch_url) == ("Slack", "slack", "https://acme.slack.com/")
        assert [g.name for g in row.groups] == ["ACME株式会社"]


def test_app_add_text_output_and_name(cli, acme):
    result = cli("app", "add", "--tenant", "acme", "--preset", "google-workspace", "--input", "domain=acme.co.jp",
                 "--name", "Google（全社）")
    assert result.exit_code == 0, result.stderr
    assert "registered SAML app Google（全社）" in result.stdout and "entity_id: google.com/a/acme.co.jp" in result.stdout


def test_app_add_oidc_preset_prints_the_add_oidc_keys(cli, acme, monkeypatch):
    from tests.idp.catalog.test_presets_sso import FIXTURES, _preset
    _preset(FIXTURES / "example-oidc.toml", monkeypatch)
    data = ok_json(cli("app", "add", "--tenant", "acme", "--preset", "example-oidc", "--input", "tenant=acme",
                       "--json"))
    assert set(data) == {"app_id", "client_id", "client_secret", "preset"}
    assert data["client_id"] and data["client_secret"] and data["preset"] == "example-oidc"


@pytest.mark.parametrize("args, message", [
    (("--preset", "slack", "--input", "domain=Bad Domain"), "Error: domain: 形式が正しくありません（例: acme）。"),
    (("--preset", "slack"), "Error: domain: 入力してください。"),
    (("--preset", "slack", "--input", "domain=acme", "--input", "team=x"), "Error: team: このサービスにはない入力項目です。"),
    (("--preset", "nope", "--input", "domain=acme"), "Error: preset: このサービスはカタログにありません。"),
])
def test_app_add_refuses_bad_input_with_one_line_and_creates_nothing(app, cli, acme, args, message):
    assert one_error_line(cli("app", "add", "--tenant", "acme", *args, "--json")).strip() == message
    with app.app_context():
        assert db.session.scalar(select(App)) is None


def test_app_add_input_must_be_key_equals_value(cli, acme):
    error = one_error_line(cli("app", "add", "--tenant", "acme", "--preset", "slack", "--input", "acme"), exit_code=2)
    assert "'acme' is not KEY=VALUE" in error
