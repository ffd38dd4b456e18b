"""Delivery: the app's server down then up (every change arrives once, in order per user), retries with
backoff, giving up after 24 h (visible), and the `idp provisioning` commands."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from idp.models.provisioning import ProvisioningChange
from idp.platform.extensions import db
from idp.provisioning import queue
from tests.idp.provisioning.conftest import account_of, new_account
from tests.support.cli_runner import ok_json


def _rename(app, clock, email, name):
    with app.app_context():
        account = account_of(email)
        account.name, account.updated_at = name, clock.now()
        db.session.commit()


def _states():
    return [(row.subject, row.operation, row.state) for row in db.session.scalars(
        select(ProvisioningChange).order_by(ProvisioningChange.id))]


@pytest.fixture
def target_down(world, scim):
    scim.stop()
    return scim


def test_changes_made_while_the_app_is_down_arrive_once_in_order(app, clock, world, target_down, cli):
    scim = target_down
    new_account(app, clock, "hanako@acme.example.com", world.groups["営業"], name="花子 1")
    new_account(app, clock, "jiro@acme.example.com", world.groups["営業"], name="次郎 1")
    _rename(app, clock, "hanako@acme.example.com", "花子 2")
    _rename(app, clock, "jiro@acme.example.com", "次郎 2")
    with app.app_context():
        hanako = account_of("hanako@acme.example.com")
        hanako.status = "disabled"
        db.session.commit()
        # each commit tried at once (the app is down): nothing more is due now
        assert ok_json(cli("provisioning", "deliver", "--json")) == {"sent": 0, "retrying": 0, "failed": 0}
        rows = db.session.scalars(select(ProvisioningChange).where(ProvisioningChange.state == "pending")).all()
        assert len(rows) == 5 and {row.attempts for row in rows} == {0, 1}  # only each account's first was tried
        assert all("Unreachable" in row.last_error for row in rows if row.attempts)
    clock.advance(seconds=29)
    with app.app_context():
        assert ok_json(cli("provisioning", "deliver", "--json"))["retrying"] == 0  # not due before 30 s
    scim.start()
    clock.advance(seconds=1)
    with app.app_context():
        assert ok_json(cli("provisioning", "deliver", "--json")) == {"sent": 5, "retrying": 0, "failed": 0}
        assert {state for _, _, state in _states()} == {"sent"}
    writes = scim.writes()
    assert [method for method, _, _ in writes] == ["POST", "POST"]  # each account's latest state, created once
    users = scim.users()
    assert users["hanako@acme.example.com"]["displayName"] == "花子 2"
    assert users["hanako@acme.example.com"]["active"] is False
    assert users["jiro@acme.example.com"]["displayName"] == "次郎 2"


def test_a_deactivation_is_not_lost_behind_a_recreate(app, clock, world, scim):
    new_account(app, clock, "hanako@acme.example.com", world.groups["営業"])
    scim.stop()
    with app.app_context():
        account = account_of("hanako@acme.example.com")
        account.group_id = world.default_group  # loses the app…
        db.session.commit()
        account.group_id = world.groups["営業"]  # …and gets it back
        account.name = "戻った 花子"
        db.session.commit()
    scim.start()
    clock.advance(minutes=1)
    with app.app_context():
        queue.deliver_due(clock.now())
    assert [method for method, _, _ in scim.writes()] == ["POST", "PATCH", "PUT"]
    assert scim.users()["hanako@acme.example.com"]["displayName"] == "戻った 花子"


def test_a_change_is_given_up_after_24_hours_and_shown_with_the_apps_error(app, clock, world, scim, cli):
    scim.stop()
    created = clock.now()
    new_account(app, clock, "hanako@acme.example.com", world.groups["営業"])
    delays = []
    with app.app_context():
        for _ in range(40):
            row = db.session.scalar(select(ProvisioningChange).where(ProvisioningChange.subject != "*"))
            db.session.rollback()
            if row.state == "failed":
                break
            clock.advance(seconds=(row.next_attempt_at - clock.now()).total_seconds())
            delays.append(row.next_attempt_at)
            queue.deliver_due(clock.now())
        assert row.state == "failed"
        status = ok_json(cli("provisioning", "status", "--tenant", "acme", "--json"))
    times = [created] + delays
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert gaps[:3] == [timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2)]
    assert max(gaps) == timedelta(hours=1)
    [chat] = status["apps"]
    assert chat["failed"] == 1 and chat["pending"] == 0
    assert chat["failures"][0]["account"] == "hanako@acme.example.com"
    assert "Unreachable" in chat["failures"][0]["error"] and "Unreachable" in chat["last_error"]


def test_the_apps_refusal_is_kept_as_its_error_text(app, clock, world, scim, cli):
    new_account(app, clock, "hanako@acme.example.com", world.groups["営業"])
    scim.app.bearer_tokens = {"another-token"}
    _rename(app, clock, "hanako@acme.example.com", "佐藤 花子")
    with app.app_context():
        status = ok_json(cli("provisioning", "status", "--tenant", "acme", "--app", str(world.app_id), "--json"))
    [chat] = status["apps"]
    assert chat["pending"] == 1 and chat["failures"][0]["error"].startswith("ScimError: HTTP 401")


def test_sync_reconciles_the_app(app, clock, world, scim, cli):
    new_account(app, clock, "hanako@acme.example.com", world.groups["営業"])
    new_account(app, clock, "jiro@acme.example.com")  # not allowed to use the app
    scim.add_user("jiro@acme.example.com", active=True)  # …but has a user there
    scim.add_user("saas-admin@acme.example.com")  # the SaaS's own admin: not ours
    with app.app_context():
        db.session.execute(ProvisioningChange.__table__.delete())
        db.session.commit()
        db.session.execute(db.text("DELETE FROM provisioning_remote_ids"))
        db.session.commit()
    scim.app.storage.resources = [r for r in scim.app.storage.resources if r.user_name != "hanako@acme.example.com"]
    with app.app_context():
        result = ok_json(cli("provisioning", "sync", "--tenant", "acme", "--app", str(world.app_id), "--json"))
    assert result == {"app_id": world.app_id, "created": 1, "updated": 0, "deactivated": 1, "deleted": 0,
                      "unmanaged": 1}
    users = scim.users()
    assert users["hanako@acme.example.com"]["active"] is True
    assert users["jiro@acme.example.com"]["active"] is False
    assert users["saas-admin@acme.example.com"].get("active") is not False


def test_sync_of_an_app_without_scim_is_a_clear_error(app, clock, factory, cli):
    factory.tenant()
    result = cli("provisioning", "sync", "--tenant", "acme", "--app", "999")
    assert result.exit_code != 0 and "no app 999" in result.stderr


def test_status_of_an_unknown_tenant_is_a_clear_error(app, cli):
    result = cli("provisioning", "status", "--tenant", "nobody", "--json")
    assert result.exit_code != 0 and result.stdout == ""


@pytest.mark.parametrize("config_overrides", [{"IDP_PROVISIONING_ASYNC": True}])
def test_in_servers_the_change_is_sent_on_the_worker_thread_after_the_commit(app, clock, world, scim):
    pusher = app.extensions["idp_provisioning"]
    pusher.flush()  # the first sync of the fixture
    new_account(app, clock, "hanako@acme.example.com", world.groups["営業"])
    pusher.flush()
    assert "hanako@acme.example.com" in scim.users()
    pusher.stop()


def test_purge_deletes_sent_and_given_up_changes_after_30_days_and_keeps_the_others(app, clock, world, scim, cli):
    new_account(app, clock, "old@acme.example.com", world.groups["営業"])  # sent at once
    scim.stop()
    new_account(app, clock, "stuck@acme.example.com", world.groups["営業"])
    clock.advance(hours=25)
    with app.app_context():
        assert ok_json(cli("provisioning", "deliver", "--json"))["failed"] == 1  # given up after 24 h
    clock.advance(days=29)
    new_account(app, clock, "waiting@acme.example.com", world.groups["営業"])  # the app is down: it waits
    scim.start()
    new_account(app, clock, "recent@acme.example.com", world.groups["営業"])
    with app.app_context():
        assert sorted(_by_email()) == [("old@acme.example.com", "sent"), ("recent@acme.example.com", "sent"),
                                       ("stuck@acme.example.com", "failed"), ("waiting@acme.example.com", "pending")]
        # old's and stuck's changes, and the full sync the app's set-up queued, are 30 days old
        assert ok_json(cli("provisioning", "purge", "--json")) == {"deleted": 3}
        assert db.session.scalar(select(db.func.count()).select_from(ProvisioningChange)) == 2
        assert sorted(_by_email()) == [("recent@acme.example.com", "sent"), ("waiting@acme.example.com", "pending")]
        assert ok_json(cli("provisioning", "purge", "--json")) == {"deleted": 0}


def _by_email():
    from idp.models import Account
    return [tuple(row) for row in db.session.execute(select(Account.email, ProvisioningChange.state).join(
        Account, Account.subject == ProvisioningChange.subject))]
