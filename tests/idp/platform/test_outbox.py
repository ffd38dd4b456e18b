"""The transactional outbox (idp.platform.outbox): mail is written to the database with the change that
causes it, delivered once after the commit, retried with backoff while the mail server is down and
never sent twice by two workers; SMS codes go out at once and are recorded; bodies are encrypted and
wiped after delivery."""
import email
import email.policy
import json
import threading
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from idp.directory import accounts
from idp.logs.audit import OPERATOR
from idp.models import OutboxMessage
from idp.platform import encryption, mail, outbox, sms
from idp.platform.config import default_mail_from
from idp.platform.extensions import db
from idp.tenancy import tenants
from tests.idp.platform.test_mail import ACTIVATION_RE, Collector, _free_port

NEW_EMAIL = "hanako@acme.example.com"
CODE_TEXT = "認証コード：123456"


class FlakyTransport:
    """A mail transport that raises while `down`, and keeps what it sent."""

    def __init__(self):
        self.down = False
        self.sent = []
        self._lock = threading.Lock()

    def send(self, message):
        if self.down:
            raise ConnectionRefusedError(111, "Connection refused")
        with self._lock:
            self.sent.append(message)


@pytest.fixture
def transport():
    return FlakyTransport()


@pytest.fixture
def config_overrides(transport):
    return {"IDP_MAIL": transport, "IDP_MAIL_FROM": "no-reply@idp.example.com"}


def _create_account(app, clock, email=NEW_EMAIL, finish="commit"):
    with app.app_context():
        created = accounts.create_account(tenants.get_by_slug("acme"), accounts.NewAccount(email=email, name="佐藤 花子"),
                                          now=clock.now(), actor=OPERATOR)
        getattr(db.session, finish)()
        return created.activation_url


def _rows(app, recipient=None):
    with app.app_context():
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if recipient:
            query = query.where(OutboxMessage.recipient == recipient)
        rows = db.session.scalars(query).all()
        db.session.expunge_all()
        return rows


def _deliver_due(app):
    with app.app_context():
        return outbox.deliver_due(app.extensions["idp_mail"].channels(), app.extensions["idp_clock"].now())


def _to(transport, address):
    return [m for m in transport.sent if m["To"] == address]


def test_a_rolled_back_change_leaves_nothing_to_send(app, clock, factory, transport):
    factory.tenant()
    _create_account(app, clock, finish="rollback")
    assert _rows(app, NEW_EMAIL) == [] and _to(transport, NEW_EMAIL) == []
    assert _deliver_due(app) == {"sent": 0, "retrying": 0, "failed": 0}
    assert _to(transport, NEW_EMAIL) == []


def test_a_committed_change_is_delivered_once_and_its_body_wiped(app, clock, factory, transport):
    tenant_id = factory.tenant()
    url = _create_account(app, clock)

    [message] = _to(transport, NEW_EMAIL)
    assert ACTIVATION_RE.findall(message.get_body().get_content()) == [url]
    [row] = _rows(app, NEW_EMAIL)
    assert (row.kind, row.status, row.attempts, row.tenant_id) == ("mail", "sent", 1, tenant_id)
    assert row.sent_at == clock.now() and row.body is None and row.claimed_by is None
    clock.advance(hours=1)
    assert _deliver_due(app)["sent"] == 0
    assert len(_to(transport, NEW_EMAIL)) == 1


def test_the_stored_body_is_encrypted(app, clock, factory, transport):
    factory.tenant()
    transport.down = True
    url = _create_account(app, clock)
    [row] = _rows(app, NEW_EMAIL)
    token = url.rsplit("/", 1)[1]
    assert row.status == "pending" and row.body
    assert token not in row.body and "activate" not in row.body and NEW_EMAIL not in row.body
    with app.app_context():
        stored = email.message_from_bytes(encryption.decrypt(row.body), policy=email.policy.default)
    assert ACTIVATION_RE.findall(stored.get_body().get_content()) == [url]


def test_a_failed_attempt_waits_with_backoff_and_goes_out_once_when_the_server_is_back(
        app, clock, factory, transport, caplog):
    factory.tenant()
    transport.down = True
    url = _create_account(app, clock)

    [row] = _rows(app, NEW_EMAIL)
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 1, clock.now() + timedelta(seconds=30))
    assert row.last_error.startswith("ConnectionRefusedError") and row.claimed_by is None
    assert url.rsplit("/", 1)[1] not in caplog.text
    assert _deliver_due(app)["sent"] == 0  # not due yet

    clock.advance(seconds=30)
    assert _deliver_due(app) == {"sent": 0, "retrying": 1, "failed": 0}
    [row] = _rows(app, NEW_EMAIL)
    assert (row.attempts, row.next_attempt_at) == (2, clock.now() + timedelta(minutes=1))

    transport.down = False
    clock.advance(minutes=1)
    assert _deliver_due(app) == {"sent": 1, "retrying": 0, "failed": 0}
    assert _deliver_due(app)["sent"] == 0
    [message] = _to(transport, NEW_EMAIL)
    assert ACTIVATION_RE.findall(message.get_body().get_content()) == [url]
    [row] = _rows(app, NEW_EMAIL)
    assert (row.status, row.attempts, row.body) == ("sent", 3, None)


@pytest.mark.parametrize("attempts, seconds", [(1, 30), (2, 60), (3, 120), (7, 1920), (8, 3600), (30, 3600)])
def test_retry_delays_double_up_to_an_hour(attempts, seconds):
    assert outbox.retry_delay(attempts) == timedelta(seconds=seconds)


def test_after_a_day_of_failures_the_message_is_given_up(app, clock, factory, transport, monkeypatch):
    factory.tenant()
    calls = []
    monkeypatch.setattr(outbox, "on_failure", [lambda kind, gave_up: calls.append((kind, gave_up))])
    transport.down = True
    _create_account(app, clock)
    for _ in range(40):
        [row] = _rows(app, NEW_EMAIL)
        if row.status != "pending":
            break
        clock.advance(seconds=(row.next_attempt_at - clock.now()).total_seconds())
        _deliver_due(app)
    assert row.status == "failed" and row.body is None
    assert timedelta(hours=23) <= clock.now() - row.created_at <= timedelta(hours=24)
    assert calls[-1] == ("mail", True) and all(call == ("mail", False) for call in calls[:-1])
    assert len(calls) == row.attempts
    with app.app_context():
        assert outbox.queue_stats(clock.now()) == {"pending": 0, "failed": 1, "oldest_pending_seconds": 0.0}


def test_two_claimers_of_one_message_never_both_get_it(app, clock, factory, transport):
    factory.tenant()
    transport.down = True
    _create_account(app, clock)
    clock.advance(minutes=1)
    [row] = _rows(app, NEW_EMAIL)
    with app.app_context():
        first = outbox.claim(row.id, "instance-a", clock.now())
        second = outbox.claim(row.id, "instance-b", clock.now())
        assert first is not None and first.claimed_by == "instance-a" and second is None
        # a claim whose holder died runs out, and then the message is taken again
        later = clock.now() + outbox.CLAIM_LEASE + timedelta(seconds=1)
        assert outbox.claim(row.id, "instance-b", later).claimed_by == "instance-b"


def test_concurrent_sweeps_send_every_message_exactly_once(app, clock, factory, transport):
    factory.tenant()
    transport.down = True
    addresses = [f"user{i}@acme.example.com" for i in range(12)]
    for address in addresses:
        _create_account(app, clock, email=address)
    transport.down = False
    clock.advance(minutes=1)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def sweep(worker):
        try:
            with app.app_context():
                channels = app.extensions["idp_mail"].channels()
                barrier.wait(10)
                results.append(outbox.deliver_due(channels, clock.now(), worker=worker))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sweep, args=(name,)) for name in ("instance-a", "instance-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(m["To"] for m in transport.sent if m["To"] in addresses) == sorted(addresses)
    assert sum(result["sent"] for result in results) == len(addresses)
    assert {row.status for row in _rows(app) if row.recipient in addresses} == {"sent"}


class TestRealSmtpServerDownThenUp:
    @pytest.fixture
    def port(self):
        return _free_port()

    @pytest.fixture
    def config_overrides(self, port):
        return {"IDP_MAIL_TRANSPORT": f"smtp://127.0.0.1:{port}", "IDP_MAIL_FROM": "no-reply@idp.example.com"}

    def test_queued_mail_arrives_once_when_the_server_comes_up(self, app, clock, factory, port):
        factory.tenant()  # the service-start mail fails too: nothing listens yet
        url = _create_account(app, clock)
        assert {row.status for row in _rows(app)} == {"pending"}

        handler = Collector()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            clock.advance(seconds=30)
            runner = app.test_cli_runner()
            assert json.loads(runner.invoke(args=["mail", "deliver", "--json"]).stdout)["sent"] == 2
            assert json.loads(runner.invoke(args=["mail", "deliver", "--json"]).stdout)["sent"] == 0
        finally:
            controller.stop()
        assert sorted(m["To"] for _e, m in handler.messages()) == [NEW_EMAIL, "owner@acme.example.com"]
        [(_envelope, message)] = handler.messages(to=NEW_EMAIL)
        assert ACTIVATION_RE.findall(message.get_body().get_content()) == [url]


class TestAsyncWorkerSweeps:
    @pytest.fixture
    def config_overrides(self, transport):
        return {"IDP_MAIL": transport, "IDP_MAIL_ASYNC": True, "IDP_MAIL_SWEEP_SECONDS": 0.05}

    def test_the_serving_process_retries_due_messages_by_itself(self, app, clock, factory, transport):
        dispatcher = app.extensions["idp_mail"]
        try:
            transport.down = True
            factory.tenant()
            mail.flush(app)
            [row] = _rows(app)
            assert row.status == "pending"
            transport.down = False
            clock.advance(seconds=30)
            for _ in range(200):
                if transport.sent:
                    break
                threading.Event().wait(0.02)
            assert [m["To"] for m in transport.sent] == ["owner@acme.example.com"]
        finally:
            dispatcher.stop()


# --- SMS ------------------------------------------------------------------------------------------

def _sms_rows(app):
    return [row for row in _rows(app) if row.kind == "sms"]


def test_an_sms_is_sent_at_once_and_recorded_without_its_text(app, clock):
    with app.app_context():
        sms.send("+819012345678", CODE_TEXT)
    [row] = _sms_rows(app)
    assert (row.status, row.attempts, row.recipient, row.body, row.sent_at) == (
        "sent", 1, "+819012345678", None, clock.now())


@pytest.fixture
def provider_down(app):
    app.config["IDP_SMS_URL"] = f"http://127.0.0.1:{_free_port()}/messages"  # nothing listens there
    yield
    app.config["IDP_SMS_URL"] = ""


def test_a_failed_sms_without_a_validity_is_failed_at_once(app, clock, provider_down):
    with app.app_context():
        with pytest.raises(sms.SmsDeliveryError):
            sms.send("+819012345678", CODE_TEXT)
    [row] = _sms_rows(app)
    assert (row.status, row.attempts, row.body) == ("failed", 1, None)
    assert row.last_error == "SmsDeliveryError: SMS provider unreachable"


def test_a_failed_sms_is_retried_while_its_code_is_valid(app, clock, provider_down):
    with app.app_context():
        with pytest.raises(sms.SmsDeliveryError):
            sms.send("+819012345678", CODE_TEXT, valid_until=clock.now() + timedelta(minutes=5))
    [row] = _sms_rows(app)
    assert (row.status, row.next_attempt_at) == ("pending", clock.now() + timedelta(seconds=30))
    with app.app_context():
        assert CODE_TEXT.encode() in encryption.decrypt(row.body) and "123456" not in row.body
    app.config["IDP_SMS_URL"] = ""  # the provider is back (here: the file outbox)
    clock.advance(seconds=30)
    assert _deliver_due(app)["sent"] == 1
    [row] = _sms_rows(app)
    assert (row.status, row.attempts, row.body) == ("sent", 2, None)


def test_an_sms_retry_stops_when_the_code_expires(app, clock, provider_down):
    with app.app_context():
        with pytest.raises(sms.SmsDeliveryError):
            sms.send("+819012345678", CODE_TEXT, valid_until=clock.now() + timedelta(minutes=1))
    clock.advance(seconds=30)
    assert _deliver_due(app) == {"sent": 0, "retrying": 0, "failed": 1}
    [row] = _sms_rows(app)
    assert (row.status, row.body) == ("failed", None)


def test_an_sms_sent_inside_a_rolled_back_transaction_is_still_recorded(app, clock, factory, provider_down):
    """The request's transaction holds a write (on SQLite, the database's write lock): the record waits
    for its end and is written whether it commits or not."""
    factory.tenant()
    with app.app_context():
        tenant = tenants.get_by_slug("acme")
        tenant.company_name = "changed"
        db.session.flush()
        with pytest.raises(sms.SmsDeliveryError):
            sms.send("+819012345678", CODE_TEXT)
        assert _sms_rows(app) == []  # not yet: the transaction is open
        db.session.rollback()
    [row] = _sms_rows(app)
    assert row.status == "failed"


def test_an_sms_code_the_login_dropped_is_never_sent_later(app, clock, factory, provider_down):
    """idp.authn.mfa.sms drops the code when the provider fails: its row is failed, not left for a retry."""
    from idp.authn.mfa import sms as mfa_sms
    from idp.models import Account
    factory.tenant()
    account_id, _url = factory.account()
    with app.app_context():
        with pytest.raises(mfa_sms.SmsNotSent):
            mfa_sms.send_code(db.session.get(Account, account_id), "+819012345678", clock.now())
        db.session.rollback()
    [row] = _sms_rows(app)
    assert (row.status, row.body, row.recipient) == ("failed", None, "+819012345678")
    app.config["IDP_SMS_URL"] = ""
    clock.advance(minutes=1)
    assert _deliver_due(app) == {"sent": 0, "retrying": 0, "failed": 0}


# --- sender and statistics ------------------------------------------------------------------------

@pytest.mark.parametrize("base_url, sender", [
    ("https://idp.example.com", "no-reply@idp.example.com"),
    ("https://login.example.co.jp:8443/", "no-reply@login.example.co.jp"),
    ("http://127.0.0.1:8000", "no-reply@localhost"),
    ("http://localhost:5000", "no-reply@localhost"),
    ("https://203.0.113.9", "no-reply@[203.0.113.9]"),
])
def test_the_default_sender_is_no_reply_at_the_base_urls_host(base_url, sender):
    assert default_mail_from(base_url) == sender


class TestDefaultSender:
    @pytest.fixture
    def config_overrides(self, transport):
        return {"IDP_MAIL": transport, "IDP_MAIL_FROM": "", "IDP_BASE_URL": "https://idp.example.com"}

    def test_mail_goes_out_from_no_reply_at_the_services_host(self, app, factory, transport):
        factory.tenant()
        assert [m["From"] for m in transport.sent] == ["no-reply@idp.example.com"]


def test_queue_stats_count_waiting_and_failed_messages(app, clock, factory, transport):
    factory.tenant()
    transport.down = True
    created = clock.now()
    _create_account(app, clock)
    clock.advance(minutes=2)
    with app.app_context():
        assert outbox.queue_stats(clock.now()) == {"pending": 1, "failed": 0, "oldest_pending_seconds": 120.0}
        assert outbox.counts() == {"pending": 1, "sending": 0, "sent": 1, "failed": 0}
        [row] = outbox.failures(tenants.get_by_slug("acme").id)
        assert row.recipient == NEW_EMAIL and row.created_at == created
