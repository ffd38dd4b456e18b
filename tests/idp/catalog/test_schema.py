"""The catalog's schema: a broken preset is refused with a message naming the file and the field, by `load()`
and at start-up (create_app), and the packaged presets load."""
import pytest

from idp import create_app
from idp.catalog import presets
from idp.catalog.schema import CatalogError

pytestmark = pytest.mark.sqlite_only  # no storage-specific behaviour here: SQLite alone (conftest.py)

GOOD = '''id = "acme-chat"
name = "Acme Chat"
category = "communication"
protocol = "saml"
brand_color = "#4A154B"
initials = "AC"
sources = ["https://help.acme-chat.example/saml"]
launch_url = "https://{domain}.acme-chat.example/"

[[inputs]]
key = "domain"
label_ja = "サブドメイン"
label_en = "Subdomain"
pattern = "[a-z0-9][a-z0-9-]{0,62}"
example = "acme"

[saml]
entity_id = "https://acme-chat.example"
acs_urls = ["https://{domain}.acme-chat.example/sso/saml"]
nameid_format = "email"
sign = "both"

[steps]
ja = ["{name}の管理画面で「SSO URL」に {sso_url} を貼り付けます。"]
en = ["In {name}'s admin screen, paste {sso_url} into SSO URL."]
'''


def write(folder, text, name="acme-chat.toml"):
    (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_a_good_preset_loads(tmp_path):
    loaded = presets.load(write(tmp_path, GOOD))
    assert list(loaded) == ["acme-chat"]
    preset = loaded["acme-chat"]
    assert (preset.protocol, preset.saml.acs_urls, preset.inputs[0].key) == (
        "saml", ["https://{domain}.acme-chat.example/sso/saml"], "domain")


BROKEN = [
    ('acs_urls = ["https://{domain}.acme-chat.example/sso/saml"]', 'acs_urls = []',
     "catalog preset acme-chat.toml: saml.acs_urls: at least one ACS URL is required"),
    ('id = "acme-chat"', 'id = "slack"', "catalog preset acme-chat.toml: id: 'slack' must equal the file name"),
    ('category = "communication"', 'category = "games"', "catalog preset acme-chat.toml: category: 'games' is not "
                                                         "a known category"),
    ('protocol = "saml"', 'protocol = "oidc"', "catalog preset acme-chat.toml: oidc: exactly one of [saml] / [oidc] "
                                               "is required"),
    ('brand_color = "#4A154B"', 'brand_color = "purple"', "brand_color: 'purple' is not a colour #RRGGBB"),
    ('initials = "AC"', 'initials = "ACM"', "initials: 1 or 2 characters"),
    ('sources = ["https://help.acme-chat.example/saml"]', 'sources = ["http://help.acme-chat.example/saml"]',
     "sources: 'http://help.acme-chat.example/saml' is not an https URL"),
    ('sources = ["https://help.acme-chat.example/saml"]', 'sources = []', "sources: at least one source"),
    ('key = "domain"', 'key = "Domain"', "inputs[0].key: 'Domain' must be [a-z][a-z0-9_]*"),
    ('key = "domain"', 'key = "issuer"', "inputs[0].key: 'issuer' is the name of one of our values"),
    ('pattern = "[a-z0-9][a-z0-9-]{0,62}"', 'pattern = "[a-z"', "inputs[0].pattern: not a valid regular expression"),
    ('example = "acme"', 'example = "ACME!"', "inputs[0].example: 'ACME!' does not match the pattern"),
    ('nameid_format = "email"', 'nameid_format = "transient"',
     "saml.nameid_format: 'transient' is not a known NameID format (one of: email, persistent, unspecified)"),
    ('sign = "both"', 'sign = "none"', "saml.sign: 'none' is not a known signing choice"),
    ('sign = "both"', 'sign = "both"\nattribute_map = { mail = "User.Email" }',
     "saml.attribute_map: 'mail' is not a known attribute key"),
    ('entity_id = "https://acme-chat.example"', 'entity_id = "https://{tenant}.acme-chat.example"',
     "saml.entity_id: unknown placeholder {tenant} (templates may use only the inputs' keys: domain)"),
    ('launch_url = "https://{domain}.acme-chat.example/"', 'launch_url = "http://{domain}.acme-chat.example/"',
     "launch_url: must be an https URL"),
    ('ja = ["{name}の管理画面で', 'ja = ["{name}の{admin_url}で', "steps.ja[0]: unknown placeholder {admin_url}"),
    ('en = ["In {name}', 'en = ["In {name', "steps.en[0]: unbalanced brace"),
    ('en = ["In {name}\'s admin screen, paste {sso_url} into SSO URL."]', 'en = []',
     "steps.en: at least one step is required"),
    ('en = ["In {name}\'s admin screen, paste {sso_url} into SSO URL."]', 'en = ["One.", "Two."]',
     "steps: ja has 1 steps, en has 2: the lists must be of equal length"),
    ('sign = "both"', 'sign = "both"\nslo_url = "https://{domain}.acme-chat.example/slo"',
     "saml.slo_url: single logout needs the SP's signing certificate"),
    ('initials = "AC"', 'initials = "AC"\nlogo = "acme.svg"', "catalog preset acme-chat.toml: logo: unknown field"),
    ('name = "Acme Chat"\n', '', "catalog preset acme-chat.toml: name: is required"),
    ('[saml]', '[oidc]\nredirect_uris = ["https://{domain}.acme-chat.example/cb"]\n\n[saml]',
     "(found: saml, oidc)"),
]


@pytest.mark.parametrize("old, new, message", BROKEN, ids=[case[2].split(": ")[-2][:40] for case in BROKEN])
def test_a_broken_preset_is_refused_naming_file_and_field(tmp_path, old, new, message):
    assert old in GOOD
    write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(CatalogError) as refused:
        presets.load(tmp_path)
    assert message in str(refused.value)
    assert str(refused.value).startswith("catalog preset acme-chat.toml: ")


def test_not_toml_and_bad_file_names_are_refused(tmp_path):
    write(tmp_path, "id = \"acme-chat\"\nname = ", name="acme-chat.toml")
    with pytest.raises(CatalogError, match=r"^catalog preset acme-chat\.toml: \(file\): not valid TOML"):
        presets.load(tmp_path)
    (tmp_path / "acme-chat.toml").unlink()
    write(tmp_path, GOOD.replace('id = "acme-chat"', 'id = "Acme_Chat"'), name="Acme_Chat.toml")
    with pytest.raises(CatalogError, match=r"^catalog preset Acme_Chat\.toml: \(file\): the file name must be"):
        presets.load(tmp_path)


def test_every_problem_of_a_file_is_listed_one_per_line(tmp_path):
    write(tmp_path, GOOD.replace('initials = "AC"', 'initials = ""').replace('sign = "both"', 'sign = "x"'))
    with pytest.raises(CatalogError) as refused:
        presets.load(tmp_path)
    lines = str(refused.value).splitlines()
    assert [line.split(": ")[1] for line in lines] == ["initials", "saml.sign"]


def test_a_broken_preset_stops_the_app_at_start_up(tmp_path, monkeypatch, database_url):
    write(tmp_path, GOOD.replace('acs_urls = ["https://{domain}.acme-chat.example/sso/saml"]', "acs_urls = []"))
    monkeypatch.setattr(presets, "PRESETS_DIR", tmp_path)
    monkeypatch.setattr(presets, "_loaded", None)
    with pytest.raises(CatalogError, match=r"catalog preset acme-chat\.toml: saml\.acs_urls: at least one ACS URL "
                                           r"is required"):
        create_app({"IDP_INSTANCE_DIR": str(tmp_path / "instance"), "IDP_DATABASE_URL": database_url,
                    "IDP_SECRET_KEY": "test", "IDP_BASE_URL": "http://127.0.0.1:8000", "TESTING": True})


def test_the_packaged_presets_load_grouped_by_category():
    loaded = presets.all_presets()
    assert {"slack", "google-workspace"} <= set(loaded)
    assert presets.get("slack").name == "Slack" and presets.get("no-such-service") is None and presets.get(1) is None
    groups = presets.by_category()
    assert [category for category, _labels, _items in groups] == [
        c for c in presets.CATEGORIES if any(p.category == c for p in loaded.values())]
    assert sum(len(items) for _c, _l, items in groups) == len(loaded)
    assert all(labels["ja"] and labels["en"] for _c, labels, _i in groups)
