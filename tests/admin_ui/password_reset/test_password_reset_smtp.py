"""Issue 5 over a real local SMTP server (aiosmtpd): the reset mail arrives, its link resets the password
and lifts a lockout; an unknown address gets the same page and no mail."""
import email
import email.policy
import re

import pytest

from conftest import STRONG_PASSWORD, csrf_token_from
from tests.idp.platform.test_mail import _start_smtp

EMAIL = "taro@acme.example.com"
NEW_PASSWORD = "Fuji-Mountain-3776"
SENDER = "no-reply@idp.example.com"
SUBJECT = "【まとめログイン】パスワードリセット通知"
LINK_RE = re.compile(r"http://127\.0\.0\.1:8000(/password/reset/[A-Za-z0-9_-]{20,})")
LOCK_MESSAGE = ("ログインに連続で失敗したため、このアカウントはロックされています。"
                "30分後に再度ログインをお試しいただくか、管理者にロック解除をご依頼ください。")


@pytest.fixture
def smtp():
    controller, handler = _start_smtp()
    yield handler
    controller.stop()


@pytest.fixture
def config_overrides(smtp):
    return {"IDP_MAIL_TRANSPORT": f"smtp://127.0.0.1:{smtp.port}", "IDP_MAIL_FROM": SENDER}


def received(smtp, to):
    result = []
    for envelope in smtp.envelopes:
        if to in envelope.rcpt_tos:
            result.append((envelope, email.message_from_bytes(envelope.original_content or envelope.content,
                                                              policy=email.policy.default)))
    return result


def sign_in(client, password):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"csrf_token": token, "email": EMAIL, "password": password})


def test_reset_mail_over_smtp_and_its_link(client, submit, factory, smtp):
    factory.tenant()
    factory.account()
    for _ in range(5):
        sign_in(client, "Wrong-Password-1")
    assert LOCK_MESSAGE in sign_in(client, STRONG_PASSWORD).get_data(as_text=True)
    smtp.envelopes.clear()
    answer = submit("/password/forgot", {"email": EMAIL})
    unknown = submit("/password/forgot", {"email": "ghost@acme.example.com"})
    assert answer.status_code == unknown.status_code == 200
    assert [e.rcpt_tos for e in smtp.envelopes] == [[EMAIL]]  # nothing for the unknown address
    [(envelope, message)] = received(smtp, EMAIL)
    assert envelope.mail_from == SENDER and message["Subject"] == SUBJECT and message["To"] == EMAIL
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "山田 太郎 様" in body and "24時間" in body
    [path] = LINK_RE.findall(body)
    page = client.get(path)
    assert page.status_code == 200 and EMAIL in page.get_data(as_text=True)
    done = submit(path, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert done.status_code == 302
    assert sign_in(client, NEW_PASSWORD).headers["Location"] == "/"  # the lock is gone too
    assert client.get(path).status_code == 410  # single use
