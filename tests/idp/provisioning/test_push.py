"""Account changes reach the app's SCIM server (scim2-server on loopback): create, update, deactivate, delete,
group moves, a group gaining or losing the app; a login and a rolled-back change push nothing."""
from sqlalchemy import func, select

from idp.console import accounts as console_accounts
from idp.console import group_members, groups as console_groups
from idp.logs.audit import OPERATOR
from idp.models import Group
from idp.models.provisioning import ProvisioningChange
from idp.platform.extensions import db
from idp.directory import passwords
from tests.idp.provisioning.conftest import account_of, add_app, new_account

STRONG = "Correct-Horse-42-battery"


def _queued():
    return db.session.scalar(select(func.count()).select_from(ProvisioningChange))


def test_a_new_account_of_a_group_with_the_app_is_created_there(app, clock, world, scim):
    new_account(app, clock, "hanako@acme.example.com", world.groups["営業"], name="佐藤 花子", department="営業部")
    user = scim.users()["hanako@acme.example.com"]
    assert user["active"] is True
    assert user["displayName"] == "佐藤 花子"
    assert user["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"] == "営業部"
    with app.app_context():
        assert user["externalId"] == account_of("hanako@acme.example.com").subject
    assert [(m, p) for m, p, _ in scim.writes()] == [("POST", "/Users")]


def test_an_account_outside_the_apps_groups_is_not_sent(app, clock, world, scim):
    new_account(app, clock, "jiro@acme.example.com")  # the default group: not assigned to the app
    assert scim.writes() == []
    assert "jiro@acme.example.com" not in scim.users()


def test_changes_disabling_and_deleting_are_pushed_in_order(app, clock, world, scim):
    account_id = new_account(app, clock, "hanako@acme.example.com", world.groups["営業"])
    with app.app_context():
        account = console_accounts.get_account(account_of("hanako@acme.example.com").tenant, account_id)
        fields = console_accounts.fields_of(account)
        fields.name, fields.department = "佐藤 花子", "経理部"
        console_accounts.update(account, fields, now=clock.now(), actor=OPERATOR)
        db.session.commit()
        console_accounts.set_status(account, "disabled", now=clock.now(), actor=OPERATOR)
        db.session.commit()
        console_accounts.delete_account(account, now=clock.now(), actor=OPERATOR)
        db.session.commit()
    writes = scim.writes()
    assert [method for method, _, _ in writes] == ["POST", "PUT", "PUT", "PATCH"]
    assert writes[1][2]["displayName"] == "佐藤 花子"
    assert writes[2][2]["active"] is False
    assert writes[3][2]["Operations"] == [{"op": "replace", "path": "active", "value": False}]
    assert len({path for _, path, _ in writes[1:]}) == 1  # the same remote user every time
    assert scim.users()["hanako@acme.example.com"]["active"] is False


def test_a_login_pushes_and_queues_nothing(app, clock, world, scim, client, login):
    new_account(app, clock, "taro@acme.example.com", world.groups["営業"])
    with app.app_context():
        account = account_of("taro@acme.example.com")
        account.password_hash, account.activated = passwords.hash_password(STRONG), True
        db.session.commit()
        queued = _queued()
    writes = len(scim.writes())
    assert login("taro@acme.example.com", STRONG).status_code == 302
    with app.app_context():
        assert account_of("taro@acme.example.com").last_login_at is not None
        assert _queued() == queued
    assert len(scim.writes()) == writes


def test_a_rolled_back_change_queues_nothing(app, clock, world, scim):
    new_account(app, clock, "hanako@acme.example.com", world.groups["営業"])
    with app.app_context():
        queued = _queued()
        account_of("hanako@acme.example.com").name = "変更 取消"
        db.session.flush()
        assert _queued() == queued + 1  # written in the flush…
        db.session.rollback()
        assert _queued() == queued  # …and gone with it
    assert [method for method, _, _ in scim.writes()] == ["POST"]


def test_moving_into_and_out_of_a_group_with_the_app(app, clock, world, scim):
    account_id = new_account(app, clock, "jiro@acme.example.com")
    with app.app_context():
        sales = db.session.get(Group, world.groups["営業"])
        group_members.add_members(sales, [account_id], now=clock.now(), actor=OPERATOR)
        db.session.commit()
        assert scim.users()["jiro@acme.example.com"]["active"] is True
        group_members.remove_members(sales, [account_id], now=clock.now(), actor=OPERATOR)
        db.session.commit()
    assert [method for method, _, _ in scim.writes()] == ["POST", "PATCH"]
    assert scim.users()["jiro@acme.example.com"]["active"] is False


def test_a_group_gaining_and_losing_the_app(app, clock, world, scim):
    new_account(app, clock, "jiro@acme.example.com")
    new_account(app, clock, "saburo@acme.example.com")
    with app.app_context():
        default = db.session.get(Group, world.default_group)
        console_groups.update_group(default, name=default.name, description="", app_ids=[world.app_id],
                                    now=clock.now(), actor=OPERATOR)
        db.session.commit()
        assert {"jiro@acme.example.com", "saburo@acme.example.com"} <= set(scim.users())
        console_groups.update_group(default, name=default.name, description="", app_ids=[],
                                    now=clock.now(), actor=OPERATOR)
        db.session.commit()
    users = scim.users()
    assert users["jiro@acme.example.com"]["active"] is False and users["saburo@acme.example.com"]["active"] is False


def test_deleting_a_group_deprovisions_its_members(app, clock, world, scim):
    new_account(app, clock, "hanako@acme.example.com", world.groups["営業"])
    with app.app_context():
        tenant = account_of("hanako@acme.example.com").tenant
        console_groups.delete_groups(tenant, [world.groups["営業"]], now=clock.now(), actor=OPERATOR)
        db.session.commit()
    assert [method for method, _, _ in scim.writes()] == ["POST", "PATCH"]
    assert scim.users()["hanako@acme.example.com"]["active"] is False


def test_with_the_delete_setting_a_deleted_account_is_deleted_there(app, clock, factory, scim):
    factory.tenant()
    world = add_app(app, clock, scim, deprovision="delete")
    account_id = new_account(app, clock, "hanako@acme.example.com", world.groups["営業"])
    with app.app_context():
        account = console_accounts.get_account(account_of("hanako@acme.example.com").tenant, account_id)
        console_accounts.delete_account(account, now=clock.now(), actor=OPERATOR)
        db.session.commit()
    assert [method for method, _, _ in scim.writes()] == ["POST", "DELETE"]
    assert "hanako@acme.example.com" not in scim.users()


def test_an_existing_user_of_the_app_is_found_by_user_name_not_created_twice(app, clock, world, scim):
    scim.add_user("hanako@acme.example.com", displayName="old")
    new_account(app, clock, "hanako@acme.example.com", world.groups["営業"], name="佐藤 花子")
    assert [method for method, _, _ in scim.writes()] == ["PUT"]
    assert scim.users()["hanako@acme.example.com"]["displayName"] == "佐藤 花子"


def test_a_disabled_target_pushes_nothing(app, clock, factory, scim):
    factory.tenant()
    world = add_app(app, clock, scim, enabled=False)
    new_account(app, clock, "hanako@acme.example.com", world.groups["営業"])
    with app.app_context():
        assert _queued() == 0
    assert scim.writes() == []
