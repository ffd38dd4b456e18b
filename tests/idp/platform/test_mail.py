"""Outgoing mail: real SMTP delivery (plain and authenticated), the outbox transport, and
"sent only after the commit" (a rolled-back change never mails a dead link; an SMTP outage
never breaks the change)."""
import email
import email.policy
import glob
import logging
import os
import re
import socket
import time

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from idp import create_app
from idp.directory import accounts
from idp.logs.audit import OPERATOR
from idp.models import Account, ActionToken
from idp.platform import mail
from idp.platform.config import ConfigError
from idp.platform.extensions import db
from idp.tenancy import tenants

SENDER = "no-reply@idp.example.com"
NEW_EMAIL = "hanako@acme.example.com"
SUBJECT = "【まとめログイン】アカウント登録通知"
ACTIVATION_RE = re.compile(r"http://127\.0\.0\.1:8000/activate/[A-Za-z0-9_-]{20,}")
SMTP_USER = "mailer"
SMTP_PASSWORD = "p@ss:w/rd %41+?#"
SMTP_PASSWORD_IN_URL = "p%40ss%3Aw%2Frd%20%2541%2B%3F%23"


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Collector:
    """aiosmtpd handler that keeps every accepted envelope."""

    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self, to=None):
        result = []
        for envelope in self.envelopes:
            message = email.message_from_bytes(envelope.original_content or envelope.content,
                                               policy=email.policy.default)
            if to is None or to in envelope.rcpt_tos:
                result.append((envelope, message))
        return result


class Authenticator:
    def __init__(self):
        self.attempts = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == SMTP_USER.encode() and auth_data.password == SMTP_PASSWORD.encode()
        self.attempts.append((mechanism, auth_data.login, ok))
        return AuthResult(success=ok, handled=False)


def _start_smtp(**smtp_parameters):
    handler = Collector()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **smtp_parameters)
    controller.start()
    handler.port = port
    return controller, handler


@pytest.fixture
def transport():
    return "outbox"


@pytest.fixture
def config_overrides(transport):
    return {"IDP_MAIL_TRANSPORT": transport, "IDP_MAIL_FROM": SENDER}


def _body(message):
    return message.get_body(preferencelist=("plain",)).get_content()


def _create_account(app, clock, email=NEW_EMAIL, finish="commit", **options):
    """Create an account without a password (so an activation mail is queued); returns its URL."""
    with app.app_context():
        tenant = tenants.get_by_slug("acme")
        created = accounts.create_account(
            tenant, accounts.NewAccount(email=email, name="佐藤 花子"), now=clock.now(), actor=OPERATOR, **options)
        url = created.activation_url
        if finish == "commit":
            db.session.commit()
        elif finish == "rollback":
            db.session.rollback()
        return url


def _account_exists(app, email=NEW_EMAIL):
    with app.app_context():
        return db.session.scalar(select(Account.id).where(Account.email_normalized == email)) is not None


# --- real SMTP ----------------------------------------------------------------------------------

class TestSmtp:
    @pytest.fixture
    def smtp(self):
        controller, handler = _start_smtp()
        yield handler
        controller.stop()

    @pytest.fixture
    def transport(self, smtp):
        return f"smtp://127.0.0.1:{smtp.port}"

    def test_activation_mail_is_delivered_over_smtp(self, app, clock, factory, smtp):
        factory.tenant()
        assert [m["To"] for _e, m in smtp.messages()] == ["owner@acme.example.com"]  # service start
        smtp.envelopes.clear()

        url = _create_account(app, clock)

        assert len(smtp.envelopes) == 1
        envelope, message = smtp.messages()[0]
        assert envelope.mail_from == SENDER
        assert envelope.rcpt_tos == [NEW_EMAIL]
        raw_subject = re.search(rb"^Subject: (.*(?:\r?\n[ \t].*)*)", envelope.content, re.M).group(1)
        assert raw_subject.isascii() and b"=?utf-8?" in raw_subject.lower()  # MIME encoded-word
        assert message["Subject"] == SUBJECT
        assert message["From"] == SENDER and message["To"] == NEW_EMAIL
        assert message["Message-ID"] and message["Date"]
        body = _body(message)
        assert "佐藤 花子 様" in body and "ACME株式会社" in body
        assert ACTIVATION_RE.findall(body) == [url]
        assert ACTIVATION_RE.fullmatch(url)

    def test_the_mailed_link_activates_the_account(self, app, client, clock, factory, smtp):
        factory.tenant()
        smtp.envelopes.clear()
        _create_account(app, clock)
        (link,) = ACTIVATION_RE.findall(_body(smtp.messages(to=NEW_EMAIL)[0][1]))
        assert client.get(link.removeprefix("http://127.0.0.1:8000")).status_code == 200

    def test_rollback_sends_nothing(self, app, clock, factory, smtp):
        factory.tenant()
        smtp.envelopes.clear()
        _create_account(app, clock, finish="rollback")
        assert smtp.envelopes == []
        assert not _account_exists(app)
        # the dropped mail does not leak into the session's next commit either
        _create_account(app, clock, email="jiro@acme.example.com", mail_template=None)
        assert smtp.envelopes == []

    def test_failed_flush_sends_nothing(self, app, clock, factory, smtp):
        """A change that fails (here: a duplicate email) rolls back and mails nothing."""
        factory.tenant()
        smtp.envelopes.clear()
        with app.app_context():
            tenant = tenants.get_by_slug("acme")
            created = accounts.create_account(
                tenant, accounts.NewAccount(email=NEW_EMAIL, name="A"),
                now=clock.now(), actor=OPERATOR).account
            twin = {column.key: getattr(created, column.key) for column in Account.__table__.columns
                    if column.key not in ("id", "subject")}
            db.session.add(Account(subject="another-subject", **twin))  # violates the unique email
            with pytest.raises(IntegrityError):
                db.session.commit()
            db.session.rollback()
        assert smtp.envelopes == []
        assert not _account_exists(app)


class TestSmtpDown:
    @pytest.fixture
    def transport(self):
        return f"smtp://127.0.0.1:{_free_port()}"  # nothing listens there

    def test_outage_does_not_break_the_commit_and_is_logged_without_the_token(
            self, app, clock, factory, caplog):
        factory.tenant()
        caplog.clear()
        with caplog.at_level(logging.INFO):
            url = _create_account(app, clock)
        assert _account_exists(app)
        with app.app_context():
            assert db.session.scalar(select(ActionToken.purpose)) == "activation"

        failures = [r for r in caplog.records if r.name == "idp.platform.mail" and r.levelno >= logging.ERROR]
        assert len(failures) == 1
        assert "mail delivery failed" in failures[0].getMessage()
        token = url.rsplit("/", 1)[1]
        assert token not in caplog.text
        for record in caplog.records:
            assert token not in record.getMessage()
            assert token not in (record.exc_text or "")
            assert token not in repr(record.args)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
class TestSmtpAuth:
    @pytest.fixture
    def authenticator(self):
        return Authenticator()

    @pytest.fixture
    def smtp(self, authenticator):
        controller, handler = _start_smtp(auth_require_tls=False, auth_required=True,
                                          authenticator=authenticator)
        yield handler
        controller.stop()

    @pytest.fixture
    def password_in_url(self):
        return SMTP_PASSWORD_IN_URL

    @pytest.fixture
    def transport(self, smtp, password_in_url):
        return f"smtp://{SMTP_USER}:{password_in_url}@127.0.0.1:{smtp.port}"

    def test_credentials_from_the_url_authenticate(self, app, clock, factory, smtp, authenticator):
        factory.tenant()
        url = _create_account(app, clock)
        assert [(login, ok) for _mech, login, ok in authenticator.attempts] == [
            (SMTP_USER.encode(), True), (SMTP_USER.encode(), True)]
        (envelope, message), = smtp.messages(to=NEW_EMAIL)
        assert message["Subject"] == SUBJECT
        assert ACTIVATION_RE.findall(_body(message)) == [url]

    @pytest.mark.parametrize("password_in_url", ["wrong"])
    def test_wrong_password_is_logged_not_raised(self, app, clock, factory, smtp, authenticator, caplog):
        factory.tenant()
        caplog.clear()
        url = _create_account(app, clock)
        assert _account_exists(app)
        assert smtp.envelopes == []
        assert authenticator.attempts and not any(ok for _m, _l, ok in authenticator.attempts)
        assert any(r.name == "idp.platform.mail" and r.levelno >= logging.ERROR for r in caplog.records)
        assert url.rsplit("/", 1)[1] not in caplog.text
        assert "wrong" not in caplog.text


# --- the outbox transport -----------------------------------------------------------------------

def test_outbox_writes_eml_files_in_the_instance_folder(app, clock, factory, outbox):
    directory = os.path.join(app.config["IDP_INSTANCE_DIR"], "outbox")
    assert outbox.directory == directory
    factory.tenant()
    before = set(glob.glob(os.path.join(directory, "*.eml")))
    assert len(before) == 1  # the service-start mail to the owner

    url = _create_account(app, clock)

    (path,) = set(glob.glob(os.path.join(directory, "*.eml"))) - before
    with open(path, "rb") as fh:
        message = email.message_from_binary_file(fh, policy=email.policy.default)
    assert message["Subject"] == SUBJECT
    assert message["To"] == NEW_EMAIL and message["From"] == SENDER
    assert message.get_content_type() == "text/plain" and message.get_content_charset() == "utf-8"
    assert ACTIVATION_RE.findall(_body(message)) == [url]
    assert [m["Subject"] for m in outbox.to(NEW_EMAIL)] == [SUBJECT]


def test_outbox_rollback_writes_nothing(app, clock, factory, outbox):
    factory.tenant()
    count = len(outbox.messages())
    _create_account(app, clock, finish="rollback")
    _create_account(app, clock, email="jiro@acme.example.com", mail_template=None)
    assert len(outbox.messages()) == count
    assert outbox.to(NEW_EMAIL) == []


def test_mail_of_a_closed_session_is_dropped(app, clock, factory, outbox):
    factory.tenant()
    with app.app_context():
        tenant = tenants.get_by_slug("acme")
        accounts.create_account(
            tenant, accounts.NewAccount(email=NEW_EMAIL, name="佐藤 花子"),
            now=clock.now(), actor=OPERATOR)
        db.session.close()  # discards the uncommitted account
        tenant = tenants.get_by_slug("acme")
        accounts.create_account(
            tenant, accounts.NewAccount(email="jiro@acme.example.com", name="次郎"),
            now=clock.now(), actor=OPERATOR, mail_template=None)
        db.session.commit()
    assert not _account_exists(app)
    assert outbox.to(NEW_EMAIL) == [], "an activation link for an account that does not exist"


def test_savepoint_rollback_keeps_the_outer_transactions_mail(app, clock, factory, outbox):
    factory.tenant()
    with app.app_context():
        tenant = tenants.get_by_slug("acme")
        accounts.create_account(
            tenant, accounts.NewAccount(email=NEW_EMAIL, name="佐藤 花子"),
            now=clock.now(), actor=OPERATOR)
        savepoint = db.session.begin_nested()
        accounts.create_account(
            tenant, accounts.NewAccount(email="jiro@acme.example.com", name="次郎"),
            now=clock.now(), actor=OPERATOR)
        savepoint.rollback()
        db.session.commit()
    assert _account_exists(app) and not _account_exists(app, "jiro@acme.example.com")
    assert outbox.to("jiro@acme.example.com") == []
    assert len(outbox.to(NEW_EMAIL)) == 1, "the committed account never gets its activation link"


def test_released_savepoint_mails_only_when_the_outer_transaction_commits(app, clock, factory, outbox):
    factory.tenant()
    with app.app_context():
        tenant = tenants.get_by_slug("acme")
        with db.session.begin_nested():
            accounts.create_account(
                tenant, accounts.NewAccount(email=NEW_EMAIL, name="佐藤 花子"),
                now=clock.now(), actor=OPERATOR)
        assert outbox.to(NEW_EMAIL) == []  # released, but the outer transaction is still open
        db.session.rollback()
    # (pysqlite's legacy transaction mode makes RELEASE commit on SQLite, so only the mail is asserted)
    assert outbox.to(NEW_EMAIL) == []


def test_outbox_files_are_private_to_the_service_user(app, clock, factory, outbox):
    factory.tenant()
    _create_account(app, clock)
    assert os.stat(outbox.directory).st_mode & 0o077 == 0
    paths = glob.glob(os.path.join(outbox.directory, "*.eml"))
    assert paths and all(os.stat(path).st_mode & 0o077 == 0 for path in paths)


# --- asynchronous delivery (the server default) -------------------------------------------------

class SlowTransport:
    """Takes `delay` seconds per message, like a distant SMTP server."""

    def __init__(self, delay):
        self.delay = delay
        self.sent = []

    def send(self, message):
        time.sleep(self.delay)
        self.sent.append(message)


class TestAsyncDelivery:
    @pytest.fixture
    def slow(self):
        return SlowTransport(delay=1.0)

    @pytest.fixture
    def config_overrides(self, slow):
        return {"IDP_MAIL_ASYNC": True, "IDP_MAIL": slow, "IDP_MAIL_FROM": SENDER}

    def test_commit_does_not_wait_for_the_mail_server(self, app, clock, factory, slow):
        factory.tenant()
        mail.flush(app)
        slow.sent.clear()
        url = _create_account(app, clock)
        assert slow.sent == []  # the commit came back while the mail server still had the message (1 s)
        mail.flush(app)
        [message] = slow.sent
        assert message["To"] == NEW_EMAIL and ACTIVATION_RE.findall(_body(message)) == [url]

    def test_rolled_back_mail_never_reaches_the_worker(self, app, clock, factory, slow):
        factory.tenant()
        mail.flush(app)
        slow.sent.clear()
        _create_account(app, clock, finish="rollback")
        mail.flush(app)
        assert slow.sent == []


def test_mail_async_setting_is_parsed_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("IDP_MAIL_ASYNC", "maybe")
    with pytest.raises(ConfigError, match="IDP_MAIL_ASYNC"):
        create_app({"IDP_INSTANCE_DIR": str(tmp_path / "i"), "IDP_SECRET_KEY": "k"})
