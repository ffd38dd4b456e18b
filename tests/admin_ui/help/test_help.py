"""The help page and its inquiry form (issue 15, ログイン編 5 問い合わせ), and /favicon.ico."""
import re

import pytest

from conftest import csrf_token_from

SUPPORT = "support@operator.example.com"
INQUIRY = {"name": "山田 太郎", "email": "taro@acme.example.com", "company": "ACME株式会社",
           "message": "ロックされてしまいました。\n解除をお願いします。"}


@pytest.fixture
def config_overrides():
    return {"IDP_HELP_URL": "", "IDP_SUPPORT_EMAIL": SUPPORT}


def _help_links(html):
    return re.findall(r'<a href="([^"]+)"[^>]*>(?:ログインにお困りの方はこちら|ヘルプ)</a>', html)


def _send(client, url, **fields):
    token = csrf_token_from(client.get(url).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **INQUIRY, **fields})


def test_the_help_links_lead_to_the_built_in_page_of_the_tenant(client, login, acme):
    assert _help_links(client.get("/login").get_data(as_text=True)) == ["/help"]
    assert _help_links(client.get("/password/forgot").get_data(as_text=True)) == ["/help"]
    assert _help_links(client.get("/t/acme/login").get_data(as_text=True)) == ["/t/acme/help"]
    login(email="admin@acme.example.com")
    assert _help_links(client.get("/").get_data(as_text=True)) == ["/t/acme/help"]  # the portal's menu
    assert _help_links(client.get("/admin/accounts").get_data(as_text=True)) == ["/t/acme/help"]


@pytest.mark.parametrize("config_overrides", [{"IDP_HELP_URL": "https://help.example.com/"}])
def test_the_operators_help_url_still_wins(client, acme, config_overrides):
    assert _help_links(client.get("/login").get_data(as_text=True)) == ["https://help.example.com/"]
    assert _help_links(client.get("/t/acme/login").get_data(as_text=True)) == ["https://help.example.com/"]


def test_the_page_answers_the_manuals_questions(client, acme):
    html = client.get("/help").get_data(as_text=True)
    for text in ("パスワードを5回続けて間違えると、アカウントがロックされます。ロックは30分後に自動で解除されます。",
                 "会社の管理者にロック解除を依頼してください。", "リンクの有効期限は24時間で、使えるのは1回だけです。",
                 "認証コードの画面で回復コードを入力してログインし", "会社の管理者に「二段階認証のリセット」を依頼してください。",
                 "登録通知メールのリンクの有効期限は24時間です。", 'href="/password/forgot"'):
        assert text in html, text
    assert 'name="message"' in html and 'name="csrf_token"' in html
    tenant_page = client.get("/t/acme/help").get_data(as_text=True)
    assert "ACME株式会社 のアカウントについてのヘルプです。" in tenant_page
    assert 'name="company" value="ACME株式会社"' in tenant_page and 'href="/t/acme/login"' in tenant_page
    assert client.get("/t/nowhere/help").status_code == 404


def test_an_inquiry_mails_the_operator_with_the_login_id_and_company(client, outbox, acme):
    response = _send(client, "/t/acme/help")
    assert response.status_code == 302 and response.headers["Location"].endswith("/t/acme/help")
    assert "お問い合わせを受け付けました。" in client.get("/t/acme/help").get_data(as_text=True)
    mail, = outbox.to(SUPPORT)
    assert mail["To"] == SUPPORT and mail["Reply-To"] == "taro@acme.example.com"
    assert mail["Subject"] == "【まとめログイン】お問い合わせ（ヘルプページ）"
    body = outbox.body(mail)
    for text in ("お名前: 山田 太郎", "ログインID（メールアドレス）: taro@acme.example.com",
                 "会社名（入力されたもの）: ACME株式会社", "テナントID（ヘルプページのURL）: acme",
                 "ロックされてしまいました。\n解除をお願いします。"):
        assert text in body, text
    assert "ログイン中のアカウント" not in body


def test_a_signed_in_user_finds_the_form_filled_in(client, login, outbox, acme, account_id):
    login()
    html = client.get("/t/acme/help").get_data(as_text=True)
    assert 'value="山田 太郎"' in html and 'value="taro@acme.example.com"' in html
    _send(client, "/help", company="ACME")
    assert "ログイン中のアカウント: taro@acme.example.com (acme)" in outbox.body(outbox.to(SUPPORT)[0])


@pytest.mark.parametrize("fields, message", [
    ({"name": ""}, "お名前を入力してください。"),
    ({"email": "taro"}, "メールアドレスの形式が正しくありません。"),
    ({"email": ""}, "メールアドレスを入力してください。"),
    ({"company": ""}, "会社名を入力してください。"),
    ({"company": "ACME\r\nBcc: x@example.com"}, "改行などの制御文字は使えません。"),
    ({"message": " "}, "お問い合わせ内容を入力してください。"),
    ({"message": "あ" * 2001}, "2000文字以内で入力してください。"),
])
def test_bad_input_is_shown_and_nothing_is_sent(client, outbox, fields, message):
    response = _send(client, "/help", **fields)
    assert response.status_code == 200 and message in response.get_data(as_text=True)
    assert outbox.to(SUPPORT) == []


def test_the_form_needs_its_csrf_token(client, outbox):
    assert client.post("/help", data=INQUIRY).status_code == 400
    assert outbox.to(SUPPORT) == []


def test_inquiries_are_limited_per_address(client, outbox):
    for _ in range(3):
        assert _send(client, "/help").status_code == 302
    response = _send(client, "/help")
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    assert len(outbox.to(SUPPORT)) == 3
    assert _send(client, "/help", email="hanako@acme.example.com").status_code == 302  # another address


@pytest.mark.parametrize("config_overrides", [{"IDP_HELP_URL": "", "IDP_SUPPORT_EMAIL": SUPPORT,
                                               "IDP_RATELIMIT_INQUIRY_IP": "2/hour"}])
def test_inquiries_are_limited_per_client(client, outbox, config_overrides):
    assert _send(client, "/help", email="a@example.com").status_code == 302
    assert _send(client, "/help", email="b@example.com").status_code == 302
    assert _send(client, "/help", email="c@example.com").status_code == 429
    assert len(outbox.to(SUPPORT)) == 2


@pytest.mark.parametrize("config_overrides", [{"IDP_HELP_URL": "", "IDP_SUPPORT_EMAIL": ""}])
def test_without_a_support_address_the_page_sends_people_to_their_admin(client, outbox, config_overrides):
    html = client.get("/help").get_data(as_text=True)
    assert "このサービスについてのお問い合わせは、ご所属の会社の管理者にご連絡ください。" in html
    assert 'name="message"' not in html
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    assert client.post("/help", data={"csrf_token": token, **INQUIRY}).status_code == 404
    assert outbox.to(SUPPORT) == []


def test_favicon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response.mimetype == "image/vnd.microsoft.icon"
    assert response.get_data()[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert '<link rel="icon" href="/favicon.ico">' in client.get("/login").get_data(as_text=True)
