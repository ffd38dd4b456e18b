"""Tenants: creation with the default group, owner and first admin, and the service-start mail."""
import re
from dataclasses import dataclass
from typing import Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from idp.directory.accounts import NewAccount, create_account
from idp.directory.groups import create_group
from idp.logs.audit import NO_CLIENT, record_audit
from idp.models import Account, Owner, Tenant
from idp.owners import accounts as owners
from idp.platform import mail, signals
from idp.platform.email_address import clean_email, normalize_email
from idp.platform.errors import Conflict, NotFound, ValidationError
from idp.platform.extensions import db
from idp.platform.urls import external_url, issuer_for, saml_metadata_url_for
from idp.platform.validation import text_errors

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$")
RESERVED_SLUGS = {"admin", "api", "static", "login", "logout", "contract", "signup", "www"}


@dataclass
class CreatedTenant:
    tenant: Tenant
    owner: Owner
    admin: Account
    activation_url: Optional[str]

    def as_json(self):
        return {
            "slug": self.tenant.slug,
            "issuer": issuer_for(self.tenant.slug),
            "saml_metadata_url": saml_metadata_url_for(self.tenant.slug),
            "owner_id": self.owner.id,
            "admin_id": self.admin.id,
            "activation_url": self.activation_url,
        }


def get_by_slug(slug):
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        raise NotFound(_l("テナント「%(slug)s」が見つかりません。", slug=slug))
    return tenant


def list_tenants():
    return db.session.scalars(select(Tenant).order_by(Tenant.slug)).all()


def slug_errors(slug):
    if not SLUG_RE.match(slug or "") or slug in RESERVED_SLUGS:
        return [_l("テナントIDは半角英小文字・数字・ハイフンの3〜63文字で指定してください。")]
    return []


def create_tenant(*, slug, company_name, owner_email, admin_email, now, actor, owner_name="",
                  admin_name=None, admin_password=None, client=NO_CLIENT):
    """Create a tenant, its default group (named after the company), its owner and first admin."""
    slug = (slug or "").strip().lower()
    company_name = (company_name or "").strip()
    errors = {
        "slug": slug_errors(slug),
        "company": text_errors(company_name, required=True, max_length=100,
                               required_message=_l("会社名を入力してください。")),
    }
    if any(errors.values()):
        raise ValidationError(errors)
    owner_email = clean_email(owner_email, "owner_email")
    if db.session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None:
        raise Conflict(_l("テナントID「%(slug)s」はすでに使われています。", slug=slug))
    tenant = Tenant(slug=slug, company_name=company_name, created_at=now)
    db.session.add(tenant)
    db.session.flush()
    group = create_group(tenant, company_name, now=now, actor=actor, is_default=True, client=client)
    owner = Owner(tenant_id=tenant.id, email=owner_email, email_normalized=normalize_email(owner_email),
                  name=owner_name or "", created_at=now)
    db.session.add(owner)
    created = create_account(
        tenant, NewAccount(email=admin_email, name=_admin_name(admin_name, admin_email, owner_email, owner_name),
                           role="admin", group=group),
        password=admin_password, now=now, actor=actor, client=client, mail_template=None)
    db.session.flush()
    record_audit(tenant_id=tenant.id, actor=actor, action="tenant.create", target=tenant, now=now,
                 changes={"company_name": company_name, "owner_email": owner_email,
                          "admin_email": created.account.email}, client=client)
    signals.tenant_created.send(tenant, now=now)
    _send_service_start_mails(tenant, owner, created, now)
    return CreatedTenant(tenant, owner, created.account, created.activation_url)


def _admin_name(admin_name, admin_email, owner_email, owner_name):
    """The first admin's name as given; else the owner's when they are the same person; else the part of
    the address before @ (the admin edits it later), never the company's name."""
    if (admin_name or "").strip():
        return admin_name
    if owner_name and normalize_email(admin_email or "") == normalize_email(owner_email):
        return owner_name
    return (admin_email or "").partition("@")[0].strip()


def _send_service_start_mails(tenant, owner, created, now):
    """One mail when owner and admin are the same person, as in the seed; otherwise one each.
    The owner's mail carries the contract-login activation link (24 h)."""
    same_person = owner.email_normalized == created.account.email_normalized
    db.session.flush()
    mail.send_after_commit(db.session, mail.build_message(
        owner.email, "service_start", tenant=tenant, owner=owner,
        contract_login_url=external_url("/contract/login"), login_url=external_url("/login"),
        owner_activation_url=owners.issue_activation(owner, now),
        admin_account=created.account if same_person else None,
        activation_url=created.activation_url if same_person else None))
    if not same_person and created.activation_url:
        mail.send_after_commit(db.session, mail.build_message(
            created.account.email, "account_created", account=created.account, tenant=tenant,
            activation_url=created.activation_url))
