"""MFA with SMS codes through HTTP: number re-set, sending, expiry, throttle, single use, the HTTP provider."""
import base64
import os
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs

import pytest
from sqlalchemy import select

from conftest import csrf_token_from
from idp.models import Account, MfaFactor, MfaSmsCode, SsoSession
from idp.platform.extensions import db
from tests.support.mfa import SmsOutbox, post_form, recovery_codes_on, set_mode

EMAIL = "taro@acme.example.com"
MESSAGE = "【まとめログイン】認証コード：{code} 認証コードの有効期限は発行から5分です。"
WRONG_CODE = "認証コードが正しくありません。"
TOO_SOON = "認証コードの送信は60秒に1回までです。あと{n}秒お待ちください。"
HOURLY = "認証コードの送信は1時間に5回までです。あと{n}分お待ちください。"
NOT_A_MOBILE = "携帯電話番号は070・080・090で始まる11桁の番号か、+で始まる国際番号を入力してください"


@pytest.fixture
def sms_outbox(app):
    return SmsOutbox(os.path.join(app.config["IDP_INSTANCE_DIR"], "sms"))


@pytest.fixture
def tenant(app, factory, clock):
    factory.tenant()
    set_mode(app, clock, "sms")


def to_send_page(client, login):
    assert login().headers["Location"] == "/login/mfa"
    return client.get("/login/mfa").headers["Location"]


def enrol_sms(client, login, factory, sms_outbox, mobile="09012345678"):
    factory.account(mobile=mobile)
    assert to_send_page(client, login) == "/login/mfa/sms"
    assert post_form(client, "/login/mfa/sms").headers["Location"] == "/login/mfa/code"
    done = post_form(client, "/login/mfa/code", {"code": sms_outbox.last_code()})
    assert done.status_code == 200 and len(recovery_codes_on(done.get_data(as_text=True))) == 10


def relogin(client, login):
    page = client.get("/logout")
    client.post("/logout", data={"csrf_token": csrf_token_from(page.get_data(as_text=True))})
    return to_send_page(client, login)


def test_no_number_asks_for_it_twice_then_sends(client, login, app, factory, tenant, sms_outbox):
    factory.account()
    assert to_send_page(client, login) == "/login/mfa/phone"
    mismatch = post_form(client, "/login/mfa/phone", {"phone": "09012345678", "phone_confirm": "09012345679"})
    assert "電話番号が一致しません。" in mismatch.get_data(as_text=True)
    for bad in ("090-1234-567", "0312345678", "abc", "+0123"):
        page = post_form(client, "/login/mfa/phone", {"phone": bad, "phone_confirm": bad})
        assert NOT_A_MOBILE in page.get_data(as_text=True), bad
    response = post_form(client, "/login/mfa/phone", {"phone": "09012345678", "phone_confirm": "09012345678"})
    assert response.headers["Location"] == "/login/mfa/sms"
    page = client.get("/login/mfa/sms").get_data(as_text=True)
    assert "+********5678" in page and "送信" in page and "電話番号再設定" in page
    assert "09012345678" not in page
    assert sms_outbox.messages() == []
    assert post_form(client, "/login/mfa/sms").headers["Location"] == "/login/mfa/code"
    [(to, body)] = sms_outbox.messages()
    code = sms_outbox.last_code()
    assert to == "+819012345678" and body == MESSAGE.format(code=code)
    done = post_form(client, "/login/mfa/code", {"code": code})
    assert done.status_code == 200
    with app.app_context():
        assert db.session.scalar(select(SsoSession.amr)) == "pwd sms mfa"
        factor = db.session.scalar(select(MfaFactor))
        assert (factor.method, factor.phone) == ("sms", "+819012345678")
        assert code not in db.session.scalar(select(MfaSmsCode.code_hash))


def test_e164_numbers_are_accepted(client, login, factory, tenant, sms_outbox):
    factory.account()
    to_send_page(client, login)
    post_form(client, "/login/mfa/phone", {"phone": "+14155550123", "phone_confirm": "+14155550123"})
    post_form(client, "/login/mfa/sms")
    assert sms_outbox.messages()[0][0] == "+14155550123"


def test_next_login_uses_the_enrolled_number_which_cannot_be_changed(
        client, login, factory, tenant, sms_outbox, clock):
    enrol_sms(client, login, factory, sms_outbox)
    clock.advance(seconds=60)
    assert relogin(client, login) == "/login/mfa/sms"
    page = client.get("/login/mfa/sms").get_data(as_text=True)
    assert "+********5678" in page and "/login/mfa/phone" not in page
    assert client.get("/login/mfa/phone").status_code == 403
    assert post_form(client, "/login/mfa/sms").headers["Location"] == "/login/mfa/code"
    assert post_form(client, "/login/mfa/code", {"code": sms_outbox.last_code()}).headers["Location"] == "/"


def test_code_expires_after_five_minutes(client, login, factory, tenant, sms_outbox, clock):
    factory.account(mobile="09012345678")
    to_send_page(client, login)
    post_form(client, "/login/mfa/sms")
    code = sms_outbox.last_code()
    clock.advance(minutes=5)
    late = post_form(client, "/login/mfa/code", {"code": code})
    assert late.status_code == 200 and WRONG_CODE in late.get_data(as_text=True)
    post_form(client, "/login/mfa/sms")  # a new code, 4:59 later still fine
    clock.advance(minutes=4, seconds=59)
    assert post_form(client, "/login/mfa/code", {"code": sms_outbox.last_code()}).status_code == 200


def test_code_is_single_use(client, app, login, factory, tenant, sms_outbox, clock):
    """Two browsers log in at the same moment: a code the first one used does not work in the second."""
    factory.account(mobile="09012345678")
    second = app.test_client()
    page = second.get("/login").get_data(as_text=True)
    second.post("/login", data={"csrf_token": csrf_token_from(page), "email": EMAIL,
                                "password": "Sakura-Blossom-2026"})
    to_send_page(client, login)
    post_form(client, "/login/mfa/sms")
    used = sms_outbox.last_code()
    assert post_form(client, "/login/mfa/code", {"code": used}).status_code == 200  # enrolled, signed in
    clock.advance(seconds=60)  # still within the code's 5 minutes
    assert post_form(second, "/login/mfa/sms").headers["Location"] == "/login/mfa/code"
    fresh = sms_outbox.last_code()
    if fresh != used:
        refused = post_form(second, "/login/mfa/code", {"code": used})
        assert refused.status_code == 200 and WRONG_CODE in refused.get_data(as_text=True)
    assert post_form(second, "/login/mfa/code", {"code": fresh}).headers["Location"] == "/"
    with app.app_context():
        assert all(row.used_at is not None for row in db.session.scalars(select(MfaSmsCode)))


def test_resend_is_throttled(client, login, factory, tenant, sms_outbox, clock):
    factory.account(mobile="09012345678")
    to_send_page(client, login)
    post_form(client, "/login/mfa/sms")
    too_soon = post_form(client, "/login/mfa/sms")
    assert too_soon.status_code == 429 and TOO_SOON.format(n=60) in too_soon.get_data(as_text=True)
    assert too_soon.headers["Retry-After"] == "60"
    for _ in range(4):
        clock.advance(seconds=60)
        assert post_form(client, "/login/mfa/sms").status_code == 302
    clock.advance(seconds=60)
    sixth = post_form(client, "/login/mfa/sms")  # 5 per hour: the first one leaves the hour in 55 minutes
    assert sixth.status_code == 429 and HOURLY.format(n=55) in sixth.get_data(as_text=True)
    assert sixth.headers["Retry-After"] == str(55 * 60)
    assert len(sms_outbox.messages()) == 5
    clock.advance(minutes=55, seconds=1)  # the first one left the hour (the half-done login expired: log in again)
    assert to_send_page(client, login) == "/login/mfa/sms"
    assert post_form(client, "/login/mfa/sms").status_code == 302
    assert len(sms_outbox.messages()) == 6


@pytest.mark.parametrize("typed, confirm", [
    ("090-1234-5678", "09012345678"),
    ("０９０ １２３４ ５６７８", "090-1234-5678"),  # full-width digits and spaces
    ("9012345678", "9012345678"),  # the 0 a spreadsheet dropped
    ("+81 90-1234-5678", "090 1234 5678"),
])
def test_the_number_is_taken_as_people_type_it(client, login, factory, tenant, sms_outbox, typed, confirm):
    factory.account()
    to_send_page(client, login)
    response = post_form(client, "/login/mfa/phone", {"phone": typed, "phone_confirm": confirm})
    assert response.headers["Location"] == "/login/mfa/sms"
    assert "+********5678" in client.get("/login/mfa/sms").get_data(as_text=True)
    post_form(client, "/login/mfa/sms")
    assert sms_outbox.messages()[0][0] == "+819012345678"


def test_a_mobile_stored_without_its_0_needs_no_new_number(client, login, app, factory, tenant, sms_outbox):
    """Accounts imported before numbers were cleaned (9012345678) still get their SMS, not 電話番号再設定."""
    account_id, _url = factory.account()
    with app.app_context():
        db.session.get(Account, account_id).mobile = "9012345678"
        db.session.commit()
    assert to_send_page(client, login) == "/login/mfa/sms"
    post_form(client, "/login/mfa/sms")
    assert sms_outbox.messages()[0][0] == "+819012345678"


def test_a_second_login_is_told_how_long_to_wait_then_sends(client, login, factory, tenant, sms_outbox, clock):
    factory.account(mobile="09012345678")
    to_send_page(client, login)
    assert post_form(client, "/login/mfa/sms").headers["Location"] == "/login/mfa/code"
    clock.advance(seconds=15)
    assert to_send_page(client, login) == "/login/mfa/sms"  # the code did not arrive: log in again
    refused = post_form(client, "/login/mfa/sms")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "45"
    assert TOO_SOON.format(n=45) in refused.get_data(as_text=True)
    clock.advance(seconds=46)  # 61 s after the first code
    assert to_send_page(client, login) == "/login/mfa/sms"
    assert post_form(client, "/login/mfa/sms").headers["Location"] == "/login/mfa/code"
    assert post_form(client, "/login/mfa/code", {"code": sms_outbox.last_code()}).status_code == 200
    assert len(sms_outbox.messages()) == 2


def test_choice_of_method_when_the_policy_says_any(client, login, app, factory, clock, sms_outbox):
    factory.tenant()
    factory.account(mobile="09012345678")
    set_mode(app, clock, "any")
    assert to_send_page(client, login) == "/login/mfa/choose"
    page = client.get("/login/mfa/choose").get_data(as_text=True)
    assert "認証アプリ" in page and "SMS" in page
    response = client.post("/login/mfa/choose", data={"csrf_token": csrf_token_from(page), "method": "sms"})
    assert client.get(response.headers["Location"]).headers["Location"] == "/login/mfa/sms"


class Receiver:
    """A local HTTP server standing in for a Twilio-compatible SMS provider."""

    def __init__(self):
        self.requests = []
        self.status = 201
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                receiver.requests.append((self.path, self.headers.get("Authorization"), parse_qs(body)))
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"sid": "SM1"}')

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/2010-04-01/Accounts/AC1/Messages.json"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def config_overrides(request):
    if "receiver" not in request.fixturenames:
        return {}
    receiver = request.getfixturevalue("receiver")
    return {"IDP_SMS_URL": receiver.url, "IDP_SMS_USER": "AC1", "IDP_SMS_PASSWORD": "token-1",
            "IDP_SMS_FROM": "+15005550006"}


def test_http_provider_receives_the_message(client, login, factory, tenant, receiver, sms_outbox):
    factory.account(mobile="09012345678")
    to_send_page(client, login)
    assert post_form(client, "/login/mfa/sms").headers["Location"] == "/login/mfa/code"
    [(path, authorization, form)] = receiver.requests
    assert path == "/2010-04-01/Accounts/AC1/Messages.json"
    assert authorization == "Basic " + base64.b64encode(b"AC1:token-1").decode()
    assert form["To"] == ["+819012345678"] and form["From"] == ["+15005550006"]
    code = form["Body"][0].split("：")[1][:6]
    assert form["Body"] == [MESSAGE.format(code=code)]
    assert sms_outbox.messages() == []
    assert post_form(client, "/login/mfa/code", {"code": code}).status_code == 200


def test_provider_failure_shows_a_retry_message(client, login, app, factory, tenant, receiver, caplog):
    factory.account(mobile="09012345678")
    to_send_page(client, login)
    receiver.status = 500
    failed = post_form(client, "/login/mfa/sms")
    assert failed.status_code == 503
    assert "SMSを送信できませんでした。" in failed.get_data(as_text=True)
    assert "SMS provider refused" in caplog.text and "認証コード：" not in caplog.text
    with app.app_context():
        assert db.session.scalars(select(MfaSmsCode)).all() == []  # nothing half-sent, no throttle
    receiver.status = 201
    assert post_form(client, "/login/mfa/sms").headers["Location"] == "/login/mfa/code"


def test_unreachable_provider_shows_the_retry_message(client, login, factory, tenant, receiver, caplog):
    factory.account(mobile="09012345678")
    to_send_page(client, login)
    receiver.stop()
    failed = post_form(client, "/login/mfa/sms")
    assert failed.status_code == 503 and "SMSを送信できませんでした。" in failed.get_data(as_text=True)
    assert "SMS provider unreachable" in caplog.text and "認証コード：" not in caplog.text
    assert "もう一度「送信」を押してください" in failed.get_data(as_text=True)
    receiver.server = type("Stopped", (), {"shutdown": lambda self: None, "server_close": lambda self: None})()
