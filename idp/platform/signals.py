"""Events other packages subscribe to, so that `idp` never imports them.

- tenant_created(tenant, now): keys/ creates the tenant's signing keys.
- sessions_ended(sessions, reason, now): SSO sessions just ended (logout, password change or
  reset, account disabled/deleted, tenant terminated); protocols/ send back-channel logouts.
- credentials_changed(account, reason, now): password reset/changed, account disabled or deleted;
  protocols/ revoke the account's refresh tokens.
Receivers run inside the caller's transaction; slow work (HTTP) must be queued for after commit.
"""
from blinker import Namespace

_signals = Namespace()
tenant_created = _signals.signal("tenant-created")
sessions_ended = _signals.signal("sessions-ended")
credentials_changed = _signals.signal("credentials-changed")
