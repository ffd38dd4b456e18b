"""Self-service sign-up: a company starts using the product without an operator.

Flow (the `signup` blueprint calls these):
  request_signup(form)   -> rate-limited per IP and per address; every address gets a
                            verification link (30 min, single use, stored as SHA-256 with the
                            form's values), whether or not it already holds a contract or an
                            account somewhere: tenants are independent (one owner may sign up
                            several companies). No tenant, owner or account exists yet.
  pending_for_link(raw)  -> the pending sign-up behind a live link (the confirmation page)
  complete_signup(raw, slug, admin_email, admin_name)
                         -> the tenant is created (`tenants.create_tenant`: default group,
                            owner, admin, signing keys, the service-start mail with the owner's
                            activation link and the admin's first-login link); the link is spent.
                            A first admin other than the owner must be named (氏名): accounts are
                            never named after the company.
"""
import re
import unicodedata
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from idp.logs.audit import Actor
from idp.models import Tenant
from idp.models.owner import SignupRequest
from idp.owners import contract
from idp.platform import mail, ratelimit
from idp.platform.email_address import clean_email, normalize_email
from idp.platform.errors import ServiceError, ValidationError
from idp.platform.extensions import db
from idp.platform.random_tokens import digest, new_token
from idp.platform.urls import external_url, issuer_for, saml_metadata_url_for
from idp.platform.validation import text_errors
from idp.tenancy import tenants

LINK_LIFETIME = timedelta(minutes=30)
KEEP_EXPIRED = timedelta(days=1)  # expired requests are deleted a day later (housekeeping)
FALLBACK_SLUG = "company"


def request_signup(*, company_name, owner_name, owner_email, admin_email, agreed, now, client):
    """Validate the form and mail the verification (or already-registered) mail; return nothing."""
    values = _clean_form(company_name, owner_name, owner_email, admin_email, agreed)
    key = "signup:" + normalize_email(values["owner_email"])
    ratelimit.guard("signup", client=client, account=key, login_id=values["owner_email"], now=now)
    db.session.execute(delete(SignupRequest).where(SignupRequest.expires_at < now - KEEP_EXPIRED))
    raw = new_token()
    db.session.add(SignupRequest(token_hash=digest(raw), created_at=now, expires_at=now + LINK_LIFETIME, **values))
    mail.send_after_commit(db.session, mail.build_message(
        values["owner_email"], "signup_verify", company_name=values["company_name"], owner_name=values["owner_name"],
        verify_url=external_url(f"/signup/verify/{raw}")))


def _clean_form(company_name, owner_name, owner_email, admin_email, agreed):
    values = {"company_name": (company_name or "").strip(), "owner_name": (owner_name or "").strip()}
    errors = {
        "company_name": text_errors(values["company_name"], required=True, max_length=100,
                                    required_message=_l("会社名を入力してください。")),
        "owner_name": text_errors(values["owner_name"], required=True, max_length=200,
                                  required_message=_l("名前を入力してください。")),
        "agreed": [] if agreed else [_l("利用規約に同意してください。")],
    }
    for field, address in (("owner_email", owner_email), ("admin_email", admin_email or owner_email)):
        try:
            values[field] = clean_email(address, field)
        except ValidationError as exc:
            errors.update(exc.errors)
    if any(errors.values()):
        raise ValidationError(errors)
    return values


def pending_for_link(raw_token, now):
    """The pending sign-up of a live verification link, or None (unknown, expired or used)."""
    if not raw_token or len(raw_token) > 200:
        return None
    request = db.session.scalar(select(SignupRequest).where(SignupRequest.token_hash == digest(raw_token)))
    if request is None or request.used_at is not None or now >= request.expires_at:
        return None
    return request


def complete_signup(raw_token, *, slug, admin_email, admin_name="", now, client):
    """Create the tenant of a verified sign-up; return the `tenants.CreatedTenant`.

    The first admin is the owner (named as the owner) unless `admin_email` is another address; that
    person's name (氏名) is then required: an account is never named after the company."""
    request = pending_for_link(raw_token, now)
    if request is None:
        raise ServiceError(_l("このリンクは有効期限が切れているか、すでに使用されています。"))
    slug = (slug or "").strip().lower()
    errors = {"slug": tenants.slug_errors(slug)}
    if not errors["slug"] and _slug_taken(slug):
        errors["slug"] = [_l("テナントID「%(slug)s」はすでに使われています。", slug=slug)]
    try:
        admin_email = clean_email(admin_email or request.admin_email, "admin_email")
    except ValidationError as exc:
        errors.update(exc.errors)
    else:
        admin_name, errors["admin_name"] = _admin_name(admin_name, admin_email, request)
    if any(errors.values()):
        raise ValidationError(errors)
    created = tenants.create_tenant(
        slug=slug, company_name=request.company_name, owner_email=request.owner_email, admin_email=admin_email,
        owner_name=request.owner_name, admin_name=admin_name, now=now,
        actor=Actor("owner", None, request.owner_email), client=client)
    request.used_at = now
    request.tenant_id = created.tenant.id
    return created


def _admin_name(admin_name, admin_email, request):
    """(the first admin's name, its errors): the owner's name when the owner is the admin and gave none."""
    admin_name = (admin_name or "").strip()
    same_person = normalize_email(admin_email) == normalize_email(request.owner_email)
    if same_person and not admin_name:
        admin_name = request.owner_name
    return admin_name, text_errors(admin_name, required=True, max_length=200,
                                   required_message=_l("管理者の氏名を入力してください。"))


def confirm_page_values(pending, *, slug, admin_email):
    """Plain values for the confirmation page: the pending sign-up, whether the admin's name is required
    (`admin_email` is not the owner's: another person), and the login page URL the tenant ID makes."""
    slug = (slug or "").strip().lower()
    example = slug if not tenants.slug_errors(slug) else suggested_slug(pending.company_name, pending.owner_email)
    return {"company_name": pending.company_name, "owner_name": pending.owner_name,
            "owner_email": pending.owner_email,
            "admin_name_required": normalize_email(admin_email or pending.admin_email)
            != normalize_email(pending.owner_email),
            "login_url": contract.login_url_for(example)}


def start_page_values(created):
    """Plain values for the page after sign-up: who was mailed, and the URLs the company's apps need."""
    slug = created.tenant.slug
    return {"company_name": created.tenant.company_name, "slug": slug, "owner_email": created.owner.email,
            "admin_email": created.admin.email, "admin_name": created.admin.name,
            "separate_admin": created.admin.email_normalized != created.owner.email_normalized,
            "login_url": contract.login_url_for(slug), "issuer": issuer_for(slug),
            "saml_metadata_url": saml_metadata_url_for(slug)}


def suggested_slug(company_name, owner_email):
    """A free tenant ID from the company name's Latin letters, else the mail domain, else 'company'."""
    for source in (company_name, (owner_email or "").partition("@")[2].split(".")[0]):
        base = _slugify(source)
        if not tenants.slug_errors(base):
            break
    else:
        base = FALLBACK_SLUG
    candidate, n = base, 1
    while _slug_taken(candidate):
        n += 1
        candidate = f"{base[:58]}-{n}"
    return candidate


def _slugify(text):
    ascii_text = unicodedata.normalize("NFKC", text or "").lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:63].strip("-")


def _slug_taken(slug):
    return db.session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None
