"""Every set-password page lists every rule of the policy (idp.directory.passwords.rules), and a refused
password is told which rule it broke: activation, reset, the portal's change, the owner's activation and
reset, the hand-over acceptance."""
import pytest

from conftest import STRONG_PASSWORD
from tests.support.owners import OWNER_EMAIL, activate_owner, mailed_links, owner_login

HANAKO = "hanako@acme.example.com"
RULES = ["10文字以上", "英大文字・英小文字・数字・記号のうち3種類以上を含む",
         "半角の英数字と記号のみ（空白・全角文字は使えません）", "よく使われているパスワード（Password1234 など）ではない",
         "メールアドレスの@より前の部分（hanako）を含まない"]
WITH_LOCAL_PART = "Hanako-Pass-2026"  # long, four kinds of characters, not common: only the address rule breaks
BROKEN_RULE = "パスワードにメールアドレスの@より前の部分（hanako）を含めることはできません。"


def _activation(factory, **_):
    factory.tenant()
    return factory.account(email=HANAKO, name="佐藤 花子", password=None)[1].removeprefix("http://127.0.0.1:8000")


def _reset(factory, submit, outbox, **_):
    factory.tenant()
    factory.account(email=HANAKO, name="佐藤 花子")
    submit("/password/forgot", {"email": HANAKO})
    return mailed_links(outbox, HANAKO, "/password/reset/")[0]


def _portal(factory, login, **_):
    factory.tenant()
    factory.account(email=HANAKO, name="佐藤 花子")
    assert login(email=HANAKO).status_code == 302
    return "/password"


def _owner_activation(factory, outbox, **_):
    factory.tenant(owner_email=HANAKO)
    return mailed_links(outbox, HANAKO, "/contract/activate/")[0]


def _owner_reset(factory, submit, outbox, **_):
    factory.tenant(owner_email=HANAKO)
    activate_owner(submit, outbox, address=HANAKO)
    submit("/contract/password/forgot", {"email": HANAKO})
    return mailed_links(outbox, HANAKO, "/contract/password/reset/")[0]


def _handover(factory, submit, outbox, client, **_):
    factory.tenant()
    activate_owner(submit, outbox)
    owner_login(client, OWNER_EMAIL)
    assert submit("/contract/handover", {"email": HANAKO, "name": "佐藤 花子"}).status_code == 302
    return mailed_links(outbox, HANAKO, "/contract/handover/")[0]


PAGES = {"activation": _activation, "reset": _reset, "portal": _portal, "owner_activation": _owner_activation,
         "owner_reset": _owner_reset, "handover": _handover}


@pytest.fixture(params=sorted(PAGES))
def page_path(request, factory, submit, outbox, client, login):
    return PAGES[request.param](factory=factory, submit=submit, outbox=outbox, client=client, login=login)


def _form(path, password):
    form = {"password": password, "password_confirm": password}
    return {**form, "current_password": STRONG_PASSWORD} if path == "/password" else form


def test_every_rule_is_listed_and_the_broken_one_named(client, submit, page_path):
    html = client.get(page_path).get_data(as_text=True)
    assert "パスワードの条件" in html
    for rule in RULES:
        assert f"<li>{rule}</li>" in html, rule
    refused = submit(page_path, _form(page_path, WITH_LOCAL_PART))
    html = refused.get_data(as_text=True)
    assert refused.status_code == 200 and BROKEN_RULE in html
    assert html.count('class="field-error"') == 1  # the one rule broken, nothing else
    for rule in RULES:  # the list stays on the page that refused
        assert f"<li>{rule}</li>" in html, rule
    assert submit(page_path, _form(page_path, "Momiji-Autumn-2027")).status_code == 302
