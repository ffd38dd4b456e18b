"""`idp mail deliver` and `idp mail queue`: the outgoing mail and SMS queue from the operator's side
(one JSON object on stdout, one error line on stderr)."""
import pytest
from sqlalchemy.exc import OperationalError

from idp.directory import accounts
from idp.logs.audit import OPERATOR
from idp.platform import outbox
from idp.platform.extensions import db
from idp.tenancy import tenants
from tests.idp.cli.test_cli import one_error_line
from tests.idp.platform.test_outbox import FlakyTransport
from tests.support.cli_runner import ok_json

NEW_EMAIL = "hanako@acme.example.com"


@pytest.fixture
def transport():
    return FlakyTransport()


@pytest.fixture
def config_overrides(transport):
    return {"IDP_MAIL": transport}


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=list(args))


def _create_account(app, clock, email=NEW_EMAIL, slug="acme"):
    with app.app_context():
        accounts.create_account(tenants.get_by_slug(slug), accounts.NewAccount(email=email, name="佐藤 花子"),
                                now=clock.now(), actor=OPERATOR)
        db.session.commit()


def test_queue_of_an_empty_outbox(cli):
    assert ok_json(cli("mail", "queue", "--json")) == {
        "counts": {"pending": 0, "sending": 0, "sent": 0, "failed": 0}, "oldest_pending_seconds": 0.0,
        "failures": []}


def test_queue_shows_waiting_mail_and_failures_with_masked_recipients(app, cli, clock, factory, transport):
    factory.tenant()
    transport.down = True
    _create_account(app, clock)
    clock.advance(minutes=5)

    data = ok_json(cli("mail", "queue", "--json"))
    assert data["counts"] == {"pending": 1, "sending": 0, "sent": 1, "failed": 0}
    assert data["oldest_pending_seconds"] == 300.0
    [failure] = data["failures"]
    assert failure["kind"] == "mail" and failure["status"] == "pending" and failure["tenant"] == "acme"
    assert failure["recipient"] == "h***@acme.example.com" and failure["attempts"] == 1
    assert failure["last_error"] == "ConnectionRefusedError: [Errno 111] Connection refused"
    assert NEW_EMAIL not in cli("mail", "queue", "--json").stdout

    text = cli("mail", "queue")
    assert text.exit_code == 0
    assert text.stdout.startswith("pending 1, sending 0, sent 1, failed 0; oldest waiting 300 s")
    assert "h***@acme.example.com attempts 1: ConnectionRefusedError" in text.stdout


def test_deliver_sends_what_is_due_once_after_an_outage(app, cli, clock, factory, transport):
    factory.tenant()
    transport.down = True
    _create_account(app, clock)
    assert ok_json(cli("mail", "deliver", "--json")) == {"sent": 0, "retrying": 0, "failed": 0}  # not due yet

    clock.advance(seconds=30)
    transport.down = False
    assert ok_json(cli("mail", "deliver", "--json")) == {"sent": 1, "retrying": 0, "failed": 0}
    clock.advance(hours=2)
    assert ok_json(cli("mail", "deliver", "--json")) == {"sent": 0, "retrying": 0, "failed": 0}
    assert [m["To"] for m in transport.sent] == ["owner@acme.example.com", NEW_EMAIL]
    assert ok_json(cli("mail", "queue", "--json"))["counts"] == {"pending": 0, "sending": 0, "sent": 2, "failed": 0}


def test_deliver_text_output(app, cli, clock, factory, transport):
    factory.tenant()
    transport.down = True
    _create_account(app, clock)
    clock.advance(seconds=30)
    result = cli("mail", "deliver")
    assert result.exit_code == 0 and result.stdout == "sent 0, to retry 1, given up 0\n"


def test_an_unavailable_database_is_one_error_line(cli, monkeypatch):
    def unavailable(*_args, **_kwargs):
        raise OperationalError("SELECT", {}, Exception("connection refused"))
    monkeypatch.setattr(outbox, "counts", unavailable)
    monkeypatch.setattr(outbox, "deliver_due", unavailable)
    assert "database is unavailable" in one_error_line(cli("mail", "queue", "--json"))
    assert "database is unavailable" in one_error_line(cli("mail", "deliver", "--json"))


def test_unknown_option_is_a_usage_error(cli):
    result = cli("mail", "queue", "--tenant", "acme")
    assert result.exit_code == 2 and result.stdout == ""


def test_purge_deletes_what_was_sent_or_given_up_a_month_ago(app, cli, clock, factory, transport):
    factory.tenant()  # the owner's mail: sent
    transport.down = True
    _create_account(app, clock)  # waits for a retry
    clock.advance(days=29)
    assert ok_json(cli("mail", "purge", "--json")) == {"deleted": 0}
    clock.advance(days=2)
    assert ok_json(cli("mail", "purge", "--json")) == {"deleted": 1}  # the sent one; the waiting one stays
    assert ok_json(cli("mail", "queue", "--json"))["counts"] == {"pending": 1, "sending": 0, "sent": 0, "failed": 0}
    result = cli("mail", "purge")
    assert result.exit_code == 0 and result.stdout == "deleted 0 sent or given-up messages\n"
