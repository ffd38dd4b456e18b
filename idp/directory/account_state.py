"""Whether an account may log in right now (shared by login and session checks)."""
from idp.models.account import STATUS_ENABLED
from idp.platform.clock import local_date

TENANT_TERMINATED = "tenant_terminated"
DISABLED = "disabled"
NOT_YET_VALID = "not_yet_valid"
EXPIRED = "expired"
NOT_ACTIVATED = "not_activated"


def login_block_reason(account, now):
    """None if `account` may log in at `now`, else a reason code. Validity dates are Japan dates."""
    today = local_date(now)
    if not account.tenant.is_active:
        return TENANT_TERMINATED
    if account.status != STATUS_ENABLED:
        return DISABLED
    if account.valid_from and today < account.valid_from:
        return NOT_YET_VALID
    if account.valid_to and today > account.valid_to:
        return EXPIRED
    if not account.activated:
        return NOT_ACTIVATED
    return None
