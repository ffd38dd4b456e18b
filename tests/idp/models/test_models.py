"""Model invariants: IdP-wide case-insensitive email uniqueness, one default group per tenant
(named after the company), opaque unique subjects, audit events for every creation."""
import re

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from conftest import STRONG_PASSWORD
from idp.directory import accounts, groups
from idp.logs.audit import OPERATOR
from idp.models import Account, AuditEvent, Group, Tenant
from idp.platform.errors import Conflict
from idp.platform.extensions import db
from idp.tenancy import tenants

SUBJECT_RE = re.compile(r"^[A-Za-z0-9_-]{22,64}$")


@pytest.fixture
def two_tenants(factory):
    factory.tenant(slug="acme", company="ACME株式会社")
    factory.tenant(slug="beta", company="ベータ商事")


def _create(app, clock, slug, email, **fields):
    with app.app_context():
        created = accounts.create_account(
            tenants.get_by_slug(slug), accounts.NewAccount(email=email, name="山田 太郎", **fields),
            password=STRONG_PASSWORD, now=clock.now(), actor=OPERATOR)
        db.session.commit()
        return created.account.id


def _count(app, model, *where):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


# --- email uniqueness: per tenant (issue 14) ----------------------------------------------------

@pytest.mark.parametrize("second_email", [
    "taro@acme.example.com",
    "TARO@ACME.EXAMPLE.COM",
    "Taro@Acme.Example.Com",
    "  taro@acme.example.com  ",
])
def test_email_is_unique_within_a_tenant_case_insensitively(app, clock, two_tenants, second_email):
    first_id = _create(app, clock, "acme", "Taro@Acme.example.com")
    with app.app_context():
        stored = db.session.get(Account, first_id)
        assert stored.email_normalized == "taro@acme.example.com"
        with pytest.raises(Conflict):
            accounts.create_account(
                tenants.get_by_slug("acme"), accounts.NewAccount(email=second_email, name="別人"),
                now=clock.now(), actor=OPERATOR)
        db.session.rollback()
    second_id = _create(app, clock, "beta", second_email)  # another tenant: a separate account
    with app.app_context():
        same = select(Account.id, Account.subject).where(Account.email_normalized == "taro@acme.example.com")
        rows = db.session.execute(same.order_by(Account.id)).all()
    assert [row.id for row in rows] == [first_id, second_id] and rows[0].subject != rows[1].subject


def test_a_new_tenants_admin_may_use_an_address_of_another_tenant(app, clock, two_tenants):
    _create(app, clock, "acme", "hanako@shared.example.com")
    with app.app_context():
        tenants.create_tenant(slug="gamma", company_name="ガンマ", owner_email="owner@gamma.example.com",
                              admin_email="HANAKO@shared.example.com", admin_password=STRONG_PASSWORD,
                              now=clock.now(), actor=OPERATOR)
        db.session.commit()
    assert _count(app, Account, Account.email_normalized == "hanako@shared.example.com") == 2


def test_database_backs_up_email_uniqueness_within_a_tenant(app, clock, two_tenants):
    """Two racing creations both pass the service check; the unique index stops the second."""
    first_id = _create(app, clock, "acme", "jiro@acme.example.com")
    with app.app_context():
        first = db.session.get(Account, first_id)
        copy = {c.key: getattr(first, c.key) for c in Account.__table__.columns
                if c.key not in ("id", "subject", "email")}
        db.session.add(Account(subject="racing-subject-0000000000", email="JIRO@acme.example.com", **copy))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
    assert _count(app, Account, Account.email_normalized == "jiro@acme.example.com") == 1


# --- default groups -----------------------------------------------------------------------------

def test_every_tenant_has_exactly_one_default_group_named_after_the_company(app, clock, factory, two_tenants):
    factory.group("acme", "営業部")
    factory.group("acme", "開発部")
    factory.group("beta", "総務部")
    factory.account("acme", email="taro@acme.example.com")
    with app.app_context():
        for tenant in db.session.scalars(select(Tenant)).all():
            defaults = db.session.scalars(
                select(Group).where(Group.tenant_id == tenant.id, Group.is_default.is_(True))).all()
            assert [g.name for g in defaults] == [tenant.company_name]
            assert groups.default_group(tenant).id == defaults[0].id
            admin = db.session.scalar(select(Account).where(Account.tenant_id == tenant.id,
                                                            Account.role == "admin"))
            assert admin.group_id == defaults[0].id  # the first admin starts in the default group
        acme = tenants.get_by_slug("acme")
        taro = accounts.find_in_tenant(acme, "taro@acme.example.com")
        assert taro.group_id == groups.default_group(acme).id  # accounts without a group land there
        assert db.session.scalar(select(func.count()).select_from(Group)) == 5


def test_company_name_is_trimmed_for_the_default_group(app, factory):
    factory.tenant(slug="gamma", company="  ガンマ株式会社 ")
    with app.app_context():
        tenant = tenants.get_by_slug("gamma")
        assert tenant.company_name == "ガンマ株式会社"
        assert groups.default_group(tenant).name == "ガンマ株式会社"


# --- subjects -----------------------------------------------------------------------------------

def test_subject_is_opaque_and_unique(app, clock, two_tenants):
    for i in range(10):
        _create(app, clock, "acme" if i % 2 else "beta", f"user{i}@example.com")
    with app.app_context():
        rows = db.session.execute(select(Account.id, Account.email, Account.subject)).all()
    assert len(rows) == 12
    subjects = [subject for _id, _email, subject in rows]
    assert len(set(subjects)) == len(subjects)
    for account_id, address, subject in rows:
        assert SUBJECT_RE.match(subject), subject
        local = address.split("@")[0]
        assert subject != address and local not in subject.lower() and "@" not in subject
        assert subject != str(account_id) and not subject.isdigit()


def test_subject_does_not_change_with_the_profile(app, clock, two_tenants):
    account_id = _create(app, clock, "acme", "saburo@acme.example.com")
    with app.app_context():
        account = db.session.get(Account, account_id)
        before = account.subject
        accounts.update_profile(account, now=clock.now(), name="山田 三郎", phone="0312345678")
        db.session.commit()
        assert db.session.get(Account, account_id).subject == before


def test_subject_is_unique_in_the_database(app, clock, two_tenants):
    first_id = _create(app, clock, "acme", "shiro@acme.example.com")
    second_id = _create(app, clock, "acme", "goro@acme.example.com")
    with app.app_context():
        first = db.session.get(Account, first_id)
        db.session.get(Account, second_id).subject = first.subject
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


# --- audit events -------------------------------------------------------------------------------

def _audit(app, action):
    with app.app_context():
        return [(e.tenant_id, e.target_type, e.target_id, e.target_label, e.actor_type)
                for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                            .order_by(AuditEvent.id))]


def test_creations_are_audited(app, clock, factory):
    tenant_id = factory.tenant(slug="acme", company="ACME株式会社")
    with app.app_context():
        default_group_id = groups.default_group(db.session.get(Tenant, tenant_id)).id
        admin_id = accounts.get_in_tenant(db.session.get(Tenant, tenant_id), "admin@acme.example.com").id
    assert _audit(app, "tenant.create") == [(tenant_id, "tenant", tenant_id, "acme", "operator")]
    assert _audit(app, "group.create") == [(tenant_id, "group", default_group_id, "ACME株式会社", "operator")]
    assert _audit(app, "account.create") == [
        (tenant_id, "account", admin_id, "admin@acme.example.com", "operator")]

    group_id = factory.group("acme", "営業部")
    account_id, _url = factory.account("acme", email="taro@acme.example.com")
    assert _audit(app, "group.create")[1:] == [(tenant_id, "group", group_id, "営業部", "operator")]
    assert _audit(app, "account.create")[1:] == [
        (tenant_id, "account", account_id, "taro@acme.example.com", "operator")]

    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "account.create",
                                                           AuditEvent.target_id == account_id))
        assert event.created_at == clock.now()
        assert event.changes["email"] == "taro@acme.example.com"
        assert "password" not in str(event.changes).lower() and STRONG_PASSWORD not in str(event.changes)


def test_failed_creation_leaves_no_audit_event(app, clock, factory):
    factory.tenant()
    before = _count(app, AuditEvent)
    with app.app_context():
        with pytest.raises(Conflict):
            accounts.create_account(
                tenants.get_by_slug("acme"), accounts.NewAccount(email="ADMIN@acme.example.com", name="x"),
                now=clock.now(), actor=OPERATOR)
        db.session.rollback()
    assert _count(app, AuditEvent) == before
