"""English UI: the catalog covers every source string, the .mo matches the .po, and the locale switches.

The Japanese msgids are the source text. `make i18n` extracts them with
idp/translations/babel.cfg and updates/compiles idp/translations/en; these tests
redo the extraction in memory with the same mapping, so a string added without
an English translation (or a .po edited without recompiling) turns the suite red.
"""
import os
import re
from urllib.parse import urlsplit

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

pytestmark = pytest.mark.sqlite_only  # the catalog and the locale switch: the same on either database
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRANSLATIONS = os.path.join(ROOT, "idp", "translations")
BABEL_CFG = os.path.join(TRANSLATIONS, "babel.cfg")
PO_PATH = os.path.join(TRANSLATIONS, "en", "LC_MESSAGES", "messages.po")
MO_PATH = os.path.join(TRANSLATIONS, "en", "LC_MESSAGES", "messages.mo")
SCANNED_PACKAGES = ("idp/", "admin_ui/", "protocols/", "keys/")
NOT_SOURCE_DIRS = {"tests", "instance", "build", "dist"}
MAIL_TEMPLATES = "idp/templates/mail/"
JAPANESE = re.compile("[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
# A gettext call whose first argument is one plain literal: _("…"), _l("…"), gettext('…'), lazy_gettext("…").
PY_CALL = re.compile(r"""(?<![\w.])(?:_l|_|gettext|lazy_gettext)\(\s*(["'])((?:(?!\1)[^\\\n])+)\1\s*[,)]""")
PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[-#0 +]*(?:\d+|\*)?(?:\.\d+)?[diouxXeEfFgGcrsa%]")
TEMPLATE_CALL = re.compile(r"""(?<![\w.])(?:_|gettext)\(\s*(["'])((?:(?!\1)[^\\\n])+)\1\s*[,)]""")


def _extract():
    """What `pybabel extract -F idp/translations/babel.cfg .` does, in memory.

    Returns ({(msgid, context): ["file:line", ...]}, [every file read, whether or not it had strings]).
    """
    with open(BABEL_CFG, encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh, BABEL_CFG)
    found, read = {}, []

    def scanned(filename, method, _options):
        if method != "ignore":
            read.append(filename.replace(os.sep, "/"))

    for filename, lineno, message, _comments, context in extract_from_dir(
            ROOT, method_map, options_map, callback=scanned):
        found.setdefault((message, context), []).append(f"{filename}:{lineno}")
    return found, read


@pytest.fixture(scope="module")
def extraction():
    return _extract()


@pytest.fixture(scope="module")
def source_messages(extraction):
    return extraction[0]


@pytest.fixture(scope="module")
def po_catalog():
    with open(PO_PATH, "rb") as fh:
        return read_po(fh, locale="en")


def _singular(msgid):
    return msgid[0] if isinstance(msgid, (list, tuple)) else msgid


def _source_files():
    """Every .py and .html file of the project (not the venv, tests, instance data or mail templates)."""
    for root, dirs, files in os.walk(ROOT):
        rel_root = os.path.relpath(root, ROOT).replace(os.sep, "/")
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")) and not d.endswith(".egg-info")
                         and not (rel_root == "." and d in NOT_SOURCE_DIRS))
        for name in sorted(files):
            rel = name if rel_root == "." else f"{rel_root}/{name}"
            if rel.endswith((".py", ".html")) and not rel.startswith(MAIL_TEMPLATES) and rel != "conftest.py":
                yield rel


# --- the catalog -----------------------------------------------------------------------------------------

def test_extraction_scans_only_the_application_packages(extraction):
    source_messages, files_read = extraction
    outside = sorted(f for f in files_read
                     if not f.startswith(SCANNED_PACKAGES) or f.startswith(MAIL_TEMPLATES))
    assert not outside, f"babel.cfg reads files outside {SCANNED_PACKAGES} (or mail templates): {outside}"
    places = [place for places in source_messages.values() for place in places]
    assert places, "babel.cfg extracted nothing"
    assert any(p.split(":")[0].endswith(".html") for p in places), "no template strings extracted"
    assert any(p.split(":")[0].endswith(".py") for p in places), "no Python strings extracted"


def test_every_gettext_call_in_the_source_is_extracted(source_messages):
    """Cross-check babel.cfg: catches a package missing from it, or `_l`/`lazy_gettext` not being keywords
    (per-section `keywords` in babel.cfg need Babel >= 2.18)."""
    extracted = {_singular(msgid) for msgid, _context in source_messages}
    missed = []
    for rel in _source_files():
        with open(os.path.join(ROOT, rel), encoding="utf-8") as fh:
            text = fh.read()
        pattern = PY_CALL if rel.endswith(".py") else TEMPLATE_CALL
        for match in pattern.finditer(text):
            if match.group(2) not in extracted:
                missed.append(f"{rel}:{text.count(chr(10), 0, match.start()) + 1}: {match.group(2)!r}")
    assert not missed, "gettext calls that idp/translations/babel.cfg does not extract:\n" + "\n".join(missed)


def test_every_source_string_has_an_english_translation(source_messages, po_catalog):
    problems = []
    for (msgid, context), places in sorted(source_messages.items(), key=lambda item: item[1][0]):
        entry = po_catalog.get(msgid, context=context)
        strings = [] if entry is None else (
            list(entry.string) if isinstance(entry.string, (list, tuple)) else [entry.string])
        if entry is None:
            reason = "missing from the .po"
        elif entry.fuzzy:
            reason = "marked fuzzy"
        elif not strings or not all(s and s.strip() for s in strings):
            reason = "empty msgstr"
        elif any(JAPANESE.search(s) for s in strings):
            reason = f"msgstr still contains Japanese: {strings!r}"
        else:
            continue
        problems.append(f"{_singular(msgid)!r} ({', '.join(places)}): {reason}")
    assert not problems, (
        f"strings without an English translation in {os.path.relpath(PO_PATH, ROOT)} "
        "(run `make i18n`, translate, run `make i18n` again):\n" + "\n".join(problems))


def placeholders(text):
    return sorted(PLACEHOLDER.findall(text))


def test_translations_keep_the_placeholders(po_catalog):
    """Same %(name)s placeholders as the msgid (Babel's own check lets a msgstr drop all of them),
    plus Babel's checks (placeholder types, number of plural forms)."""
    errors = [f"{_singular(message.id)!r}: {'; '.join(map(str, errs))}"
              for message, errs in po_catalog.check() if errs]
    for message in po_catalog:
        if message.id and isinstance(message.id, str) and message.string:
            if placeholders(message.id) != placeholders(message.string):
                errors.append(f"{message.id!r}: placeholders {placeholders(message.id)} in the msgid, "
                              f"{placeholders(message.string)} in {message.string!r}")
    assert not errors, "\n".join(errors)


def test_compiled_mo_matches_the_po(po_catalog):
    def translations(catalog):
        return {(m.id, m.context): m.string for m in catalog if m.id and m.string and not m.fuzzy}

    with open(MO_PATH, "rb") as fh:
        mo_catalog = read_mo(fh)
    po, mo = translations(po_catalog), translations(mo_catalog)
    stale = sorted(repr(_singular(key[0])) for key in po.keys() | mo.keys() if po.get(key) != mo.get(key))
    assert not stale, ("messages.mo is out of date with messages.po "
                       "(run `pybabel compile -d idp/translations`):\n" + "\n".join(stale))


# --- the running app -------------------------------------------------------------------------------------

FORGOT_JA = "パスワードを忘れた方はこちら"
FORGOT_EN = "Forgot your password?"
BAD_LOGIN_JA = "メールアドレスまたはパスワードが正しくありません。"
BAD_LOGIN_EN = "Incorrect email address or password."


def login_page(client, accept_language=None):
    headers = {"Accept-Language": accept_language} if accept_language else {}
    response = client.get("/login", headers=headers)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def assert_japanese(html):
    assert '<html lang="ja">' in html
    assert FORGOT_JA in html and FORGOT_EN not in html


def assert_english(html):
    assert '<html lang="en">' in html
    assert FORGOT_EN in html and FORGOT_JA not in html


def test_japanese_without_accept_language(client):
    assert_japanese(login_page(client))


@pytest.mark.parametrize("accept_language", ["en-US,en;q=0.9", "en", "fr-FR,fr;q=0.9,en;q=0.5"])
def test_english_from_the_browser_language(client, accept_language):
    assert_english(login_page(client, accept_language))


@pytest.mark.parametrize("accept_language", ["ja,en-US;q=0.9,en;q=0.8", "ja-JP", "fr-FR,fr;q=0.9", "*"])
def test_japanese_when_the_browser_prefers_it_or_neither(client, accept_language):
    assert_japanese(login_page(client, accept_language))


def test_language_cookie_overrides_the_browser(client):
    switch = client.get("/lang/en?next=/login")
    assert switch.status_code == 302 and switch.headers["Location"] == "/login"
    assert client.get_cookie("lang").value == "en"
    assert_english(login_page(client, "ja,en;q=0.1"))
    assert_english(login_page(client))

    back = client.get("/lang/ja?next=/login")
    assert back.status_code == 302 and back.headers["Location"] == "/login"
    assert client.get_cookie("lang").value == "ja"
    assert_japanese(login_page(client, "en-US,en;q=0.9"))


def test_unknown_language_sets_no_cookie(client):
    response = client.get("/lang/fr?next=/login")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get_cookie("lang") is None
    assert_japanese(login_page(client))


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/", "///evil.example/", "/\\evil.example/",
    "\\\\evil.example/", "https:evil.example", "javascript:alert(1)", " //evil.example/",
])
def test_language_switch_redirects_only_to_local_paths(client, target):
    response = client.get("/lang/en", query_string={"next": target})
    assert response.status_code == 302
    location = response.headers["Location"]
    parts = urlsplit(location)
    assert not parts.scheme and not parts.netloc, location
    assert location.startswith("/") and not location.startswith("//") and "\\" not in location
    assert "evil.example" not in location and "javascript" not in location
    assert client.get_cookie("lang").value == "en"  # the switch itself still works


def test_python_strings_follow_the_language_of_each_request(client, submit):
    """Lazy strings defined at import time (`_l`) are translated when rendered, per request."""
    wrong = {"email": "nobody@acme.example.com", "password": "Not-The-Password-1"}
    html = submit("/login", wrong).get_data(as_text=True)
    assert BAD_LOGIN_JA in html and BAD_LOGIN_EN not in html

    client.get("/lang/en?next=/login")
    html = submit("/login", wrong).get_data(as_text=True)
    assert BAD_LOGIN_EN in html and BAD_LOGIN_JA not in html


def test_error_pages_are_translated(client):
    response = client.get("/no-such-page", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Page not found." in html and "ページが見つかりません。" not in html
    assert "ページが見つかりません。" in client.get("/no-such-page").get_data(as_text=True)


def test_wtforms_messages_follow_the_request_language(app):
    """WTForms' own messages (idp.web.form_translations: one catalog per language per process)."""
    from flask_wtf import FlaskForm
    from wtforms import StringField
    from wtforms.validators import DataRequired

    class Form(FlaskForm):
        class Meta:
            csrf = False
        field = StringField(validators=[DataRequired()])

    for language, message in (("ja", "このフィールドは必須です。"), ("en", "This field is required."),
                              ("ja", "このフィールドは必須です。")):
        with app.test_request_context("/", method="POST", data={}, headers={"Cookie": f"lang={language}"}):
            app.preprocess_request()
            form = Form()
            assert not form.validate() and form.errors == {"field": [message]}
