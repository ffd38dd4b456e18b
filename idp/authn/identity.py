"""The protocol-neutral identity that OIDC claims and SAML attributes are both mapped from.

`identity_of(sso_session)` gives who is signed in and how: the account's stable opaque
subject (per tenant; never the email or the row id), profile values, the group, and the
authentication methods of the session (`amr`: pwd, otp, sms, hwk/swk and user for a passkey, mfa) with
the matching level.
"""
from dataclasses import dataclass
from datetime import datetime

ACR_PASSWORD = "urn:matome:acr:pwd"
ACR_MFA = "urn:matome:acr:mfa"
SECOND_FACTORS = {"otp", "sms", "hwk", "swk", "mfa"}


@dataclass(frozen=True)
class Identity:
    account_id: int
    tenant_id: int
    tenant_slug: str
    subject: str
    email: str
    name: str
    phone: str
    mobile: str
    organization: str
    department: str
    groups: tuple
    amr: tuple
    auth_time: datetime
    session_id: str  # the SSO session's public `sid`

    @property
    def mfa(self):
        return bool(SECOND_FACTORS & set(self.amr))

    @property
    def acr(self):
        return ACR_MFA if self.mfa else ACR_PASSWORD


def identity_of(sso_session):
    account = sso_session.account
    return Identity(
        account_id=account.id, tenant_id=account.tenant_id, tenant_slug=account.tenant.slug,
        subject=account.subject, email=account.email, name=account.name, phone=account.phone,
        mobile=account.mobile, organization=account.organization, department=account.department,
        groups=(account.group.name,), amr=tuple(sso_session.amr.split()), auth_time=sso_session.auth_time,
        session_id=sso_session.sid,
    )
