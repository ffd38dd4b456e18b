"""Database models. Every tenant-owned row carries `tenant_id`; queries filter by it.

Datetimes are naive UTC. Models hold data and small derived properties only;
rules live in the service modules of `idp`.
"""
from idp.models.account import Account
from idp.models.app import App, group_apps
from idp.models.events import AuditEvent, LoginEvent
from idp.models.keys import SigningKey  # noqa: F401  (signing keys: import from .keys)
from idp.models.lockout import UnknownLoginFailure
from idp.models.mfa import MfaFactor, MfaPendingLogin, MfaPolicy, MfaRecoveryCode, MfaSmsCode  # noqa: F401  (MFA)
from idp.models.oidc import (OidcAuthorizationCode, OidcClient, OidcGrant,  # noqa: F401  (OIDC: import from .oidc)
                             OidcToken)
from idp.models.outbox import OutboxMessage  # noqa: F401  (outgoing mail and SMS)
from idp.models.owner import OwnerSession, OwnerToken, SignupRequest  # noqa: F401  (owner side: import from .owner)
from idp.models.saml import (SamlParticipant, SamlPersistentId, SamlSeenRequest,  # noqa: F401  (SAML)
                             SamlServiceProvider)
from idp.models.session import SsoSession
from idp.models.tenancy import Group, Owner, Tenant
from idp.models.tokens import ActionToken
from idp.models import passkey, provisioning, scim  # noqa: F401,E402  (passkeys, SCIM tokens, SCIM push)

__all__ = [
    "Account", "ActionToken", "App", "AuditEvent", "Group", "LoginEvent",
    "Owner", "SsoSession", "Tenant", "UnknownLoginFailure", "group_apps",
]
