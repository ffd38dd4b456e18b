"""Every admin, portal and contract page renders without Python values or stored codes (issue 15, "Done when").

The pages are the GET routes of the `admin`, `portal` and `contract` blueprints (and the user's /mfa), read
from the app's URL map, so a new page is walked without touching this file; a route with parameters is
filled from the realistic data of tests/admin_ui/every_page_world.py (built once for the module), and a
new parametrised route without an entry in `urls_of` fails until it has one. Confirmation pages that a
first POST shows are walked too (`CONFIRMATIONS`). Each page is rendered in Japanese and in English, and
its visible text (text nodes only: no tags, attribute values, scripts or styles) may hold no Python repr
and no action or login-reason code of idp/logs/labels.py.
"""
import re
import shutil
import tempfile

import pytest

from conftest import START
from idp import create_app
from idp.logs.labels import ACTIONS, REASONS, RESULTS
from idp.platform.clock import FrozenClock
from idp.platform.extensions import db
from tests.admin_ui.every_page_world import build
from tests.support.visible_text import visible

# One xdist worker walks them all (`make test` runs `--dist loadgroup`): the data is built once, not per worker.
pytestmark = pytest.mark.xdist_group("every_page")
BLUEPRINTS = ("admin", "portal", "contract")
EXTRA_PAGES = ("auth.mfa_settings",)  # the user's own pages served by the auth blueprint
LANGUAGES = ("ja", "en")
REPRS = re.compile(r"\b(?:None|True|False)\b|<built-in|<bound method|object at 0x|\{'|\['")
# Codes that are also English words are looked for in the Japanese pages only.
WORD_CODES = {code for code in (*REASONS, *RESULTS) if re.fullmatch(r"[a-z]+", code)}
CODES = sorted(set(ACTIONS) | set(REASONS) | set(RESULTS))
# The contract pages a signed-in owner does not see (they redirect to the contract page).
ANONYMOUS = {"contract.login", "contract.choose", "contract.forgot", "contract.reset", "contract.activate",
             "contract.accept_handover", "contract.federated_login", "contract.federated_callback"}
LOGIN_PAGES = {"/login", "/t/acme/login", "/contract/login"}
# Pages no realistic data reaches: federation is not configured in the tests (tests/admin_ui/contract/).
SKIPPED = {"contract.choose": "reached only by an owner of several contracts logging in "
                              "(tests/admin_ui/contract/test_shared_owner_address.py)",
           "contract.federated_login": "owner federation is not configured",
           "contract.federated_callback": "owner federation is not configured"}
# Pages of files owned by others that still show a repr or a code: (endpoint, language) -> what is shown.
KNOWN = {}


def _config(instance, database, clock=None):
    config = {"IDP_INSTANCE_DIR": str(instance), "IDP_DATABASE_URL": "sqlite:///" + str(database),
              "IDP_SECRET_KEY": "test-secret-key", "IDP_BASE_URL": "http://127.0.0.1:8000",
              "IDP_MAIL_TRANSPORT": "outbox", "IDP_MAIL_ASYNC": False, "IDP_HELP_URL": "https://help.example.com/",
              "TESTING": True}
    return {**config, "IDP_CLOCK": clock} if clock else config


def _page_endpoints():
    """The GET endpoints of the walked blueprints, from the URL map of an app on a throwaway database."""
    instance = tempfile.mkdtemp(prefix="every-page-")
    try:
        app = create_app(_config(instance, f"{instance}/idp.sqlite3"))
        with app.app_context():
            db.engine.dispose()
        return sorted({rule.endpoint for rule in app.url_map.iter_rules() if "GET" in rule.methods
                       and (rule.endpoint.split(".")[0] in BLUEPRINTS or rule.endpoint in EXTRA_PAGES)})
    finally:
        shutil.rmtree(instance, ignore_errors=True)


ENDPOINTS = _page_endpoints()


def urls_of(world, endpoint):
    """The URLs of `endpoint` with the data's ids; None for a parametrised route this does not know."""
    ids = world.ids
    accounts = [world.admin_id] + [ids[k] for k in ("taro", "jiro", "hanako", "disabled", "future", "expired",
                                                    "locked", "unlocked", "inactive", "pending", "newbie")]
    groups = [ids["営業"], ids["開発"], world.default_group]
    logs = ["", "?result=failure", "?result=success", "?action=account.update", "?action=mfa.policy_set",
            "?user=taro%40acme.example.com", "?from=2026-04-01&to=2026-04-30", "?page=2"]
    known = {
        "admin.account_detail": [f"/admin/accounts/{i}" for i in accounts],
        "admin.account_edit": [f"/admin/accounts/{i}/edit" for i in accounts],
        "admin.accounts": ["/admin/accounts", "/admin/accounts?status=locked", "/admin/accounts?q=%E4%BD%90"],
        "admin.accounts_import_review": [ids["review"]],
        "admin.app_detail": [f"/admin/apps/{ids['oidc']}", f"/admin/apps/{ids['saml']}"],
        "admin.app_edit": [f"/admin/apps/{ids['oidc']}/edit", f"/admin/apps/{ids['saml']}/edit"],
        "admin.app_new": ["/admin/apps/new/oidc", "/admin/apps/new/saml"],
        "admin.app_add_preset": ["/admin/apps/add/slack", "/admin/apps/add/salesforce", "/admin/apps/add/asana"],
        "admin.app_certificate": [f"/admin/apps/{ids['saml']}/certificate.pem"],
        "admin.app_idp_metadata": [f"/admin/apps/{ids['saml']}/idp-metadata.xml"],
        "admin.group_detail": [f"/admin/groups/{i}" for i in groups],
        "admin.group_edit": [f"/admin/groups/{i}/edit" for i in groups],
        "admin.group_members": [f"/admin/groups/{i}/members" for i in groups],
        "admin.login_logs": ["/admin/logs/logins" + q for q in logs],
        "admin.audit_logs": ["/admin/logs/operations" + q for q in logs],
        "contract.activate": [ids["spent_activation"]],
        "contract.reset": [ids["owner_reset"]],
        "contract.accept_handover": [ids["handover"]],
        "contract.export": ["/contract/export/accounts.csv", "/contract/export/audit.csv"],
    }
    if endpoint in known:
        return known[endpoint]
    rule = next(r for r in world.app.url_map.iter_rules() if r.endpoint == endpoint and "GET" in r.methods)
    return None if rule.arguments else [rule.rule]


def confirmations(world):
    """The confirmation pages a list's first POST shows: (page holding the form, POST URL, ticked data)."""
    ids = world.ids
    return [
        ("/admin/accounts", "/admin/accounts/delete", {"ids": [str(world.admin_id), str(ids["locked"])]}),
        ("/admin/groups", "/admin/groups/delete", {"ids": [str(g) for g in (world.default_group, ids["開発"])]}),
        (f"/admin/groups/{ids['営業']}", f"/admin/groups/{ids['営業']}/members/remove", {"ids": [str(ids["hanako"])]}),
        (f"/admin/accounts/{ids['taro']}", f"/admin/accounts/{ids['taro']}/reset-mfa", {}),
        (f"/admin/apps/{ids['saml']}", f"/admin/apps/{ids['saml']}/delete", {}),
        (ids["review"], ids["review"] + "/discard", {}),
        ("/admin/security", "/admin/security/keys/rotate", {}),
    ]


def problems(text, lang):
    """What a person should not see: each offending line with what is wrong in it."""
    found = []
    for line in text.splitlines():
        found += [f"{match.group(0)!r} in {line!r}" for match in REPRS.finditer(line)]
        found += [f"{code!r} in {line!r}" for code in CODES if (lang == "ja" or code not in WORD_CODES)
                  and re.search(rf"(?<![\w.@/-]){re.escape(code)}(?![\w@/-]|\.\w)", line)]
    return found


@pytest.fixture(scope="module")
def world(sqlite_schema, speedups, tmp_path_factory):
    """The app on its own SQLite database with the realistic data, made once for the module."""
    instance = tmp_path_factory.mktemp("every-page")
    shutil.copyfile(sqlite_schema, instance / "idp.sqlite3")
    clock = FrozenClock(START)
    app = create_app(_config(instance, instance / "idp.sqlite3", clock))
    built = build(app, clock)
    with app.app_context():
        from idp.directory.groups import default_group
        from idp.tenancy import tenants
        built.default_group = default_group(tenants.get_by_slug("acme")).id
    yield built
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _browser(world, endpoint):
    if endpoint.startswith("admin."):
        return world.admin
    if endpoint.startswith("contract."):
        return world.app.test_client() if endpoint in ANONYMOUS else world.owner
    return world.user


def _render(browser, url, lang, method="GET", data=None):
    browser.set_cookie("lang", lang)
    if method == "POST":
        from conftest import csrf_token_from
        token = csrf_token_from(browser.get(data.pop("_page")).get_data(as_text=True))
        return browser.post(url, data={"csrf_token": token, **data}, follow_redirects=True)
    return browser.get(url, follow_redirects=True)


def _check(response, url, lang):
    assert response.status_code in (200, 410), (url, response.status_code)
    landed = response.request.path
    assert landed == url.split("?")[0] or landed not in LOGIN_PAGES, f"{url} sent the signed-in browser to {landed}"
    if not response.mimetype.startswith("text/html"):
        return []
    return [f"{url}: {problem}" for problem in problems(visible(response.get_data(as_text=True)), lang)]


def _cases():
    for endpoint in ENDPOINTS:
        for lang in LANGUAGES:
            marks = []
            if endpoint in SKIPPED:
                marks.append(pytest.mark.skip(reason=SKIPPED[endpoint]))
            elif (endpoint, lang) in KNOWN:
                marks.append(pytest.mark.xfail(strict=True, reason=KNOWN[(endpoint, lang)]))
            yield pytest.param(endpoint, lang, id=f"{endpoint}-{lang}", marks=marks)


@pytest.mark.sqlite_only
@pytest.mark.parametrize("endpoint, lang", list(_cases()))
def test_page_shows_no_python_values_or_codes(world, endpoint, lang):
    urls = urls_of(world, endpoint)
    assert urls is not None, f"{endpoint} has parameters: add its URLs with the data's ids to urls_of()"
    browser = _browser(world, endpoint)
    found = [problem for url in urls for problem in _check(_render(browser, url, lang), url, lang)]
    assert not found, "\n".join(found)


@pytest.mark.sqlite_only
@pytest.mark.parametrize("lang", LANGUAGES)
def test_confirmation_pages_show_no_python_values_or_codes(world, lang):
    found = []
    for page, url, data in confirmations(world):
        response = _render(world.admin, url, lang, "POST", {"_page": page, **data})
        found += _check(response, url, lang)
    assert not found, "\n".join(found)


def test_the_walk_covers_every_kind_of_page():
    """The URL map gave list, detail, form, log, CSV, portal and contract pages (the discovery works)."""
    for endpoint in ("admin.accounts", "admin.account_detail", "admin.group_edit", "admin.audit_logs",
                     "admin.accounts_import", "admin.accounts_import_review", "admin.security", "portal.home",
                     "portal.profile_edit", "auth.mfa_settings", "contract.home", "contract.terminate"):
        assert endpoint in ENDPOINTS, endpoint
    assert not [e for e in ENDPOINTS if e.endswith(("_delete", "_remove", "_apply", "_discard"))]


def test_the_check_catches_what_it_looks_for():
    html = ("<p>更新 <b>&lt;built-in method update of dict object at 0x7f&gt;</b></p><p>{'a': 1}</p><p>None</p>"
            "<p>account.update</p><p>理由: bad_password</p><input value=\"None\"><script>var x = ['a']</script>"
            "<p>failure</p><p>taro@acme.example.com</p><p>Noneless</p>")
    text = visible(html)
    assert "None\"" not in text and "['a']" not in text
    found = "\n".join(problems(text, "ja"))
    for shown in ("<built-in", "object at 0x", "{'", "'None'", "account.update", "bad_password", "'failure'"):
        assert shown in found, shown
    assert "taro@" not in found and "Noneless" not in found
    assert "failure" not in "\n".join(problems(text, "en")) and problems("Account locked", "en") == []
