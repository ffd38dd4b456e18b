"""Database models. Every tenant-owned row carries `tenant_id`; queries filter by it.

Datetimes are naive UTC. Models hold data and small derived properties only;
rules live in the service modules of `idp`.
"""
from .account import Account
from .app import App, group_apps
from .events import AuditEvent, LoginEvent
from .lockout import UnknownLoginFailure
from .mfa import MfaFactor, MfaPendingLogin, MfaPolicy, MfaRecoveryCode, MfaSmsCode  # noqa: F401  (MFA)
from .oidc import OidcAuthorizationCode, OidcClient, OidcGrant, OidcToken  # noqa: F401  (OIDC: import from .oidc)
from .saml import SamlParticipant, SamlPersistentId, SamlSeenRequest, SamlServiceProvider  # noqa: F401  (SAML)
from .owner import OwnerSession, OwnerToken, SignupRequest  # noqa: F401  (owner side: import from .owner)
from .session import SsoSession
from .tenancy import Group, Owner, Tenant
from .tokens import ActionToken

__all__ = [
    "Account", "ActionToken", "App", "AuditEvent", "Group", "LoginEvent",
    "Owner", "SsoSession", "Tenant", "UnknownLoginFailure", "group_apps",
]
