"""One password against every record of an address (staff accounts or owners, one per tenant).

The lookup gives the records of the address (all tenants' on `/login`, one tenant's on its own page);
each is verified, so the time depends only on how many there are. Both logins (idp/authn/login.py,
idp/owners/accounts.py) then apply the same lockout rules through these two functions.
"""
from idp.authn import lockout
from idp.directory.passwords import verify_password

LOCKED = "locked"
BAD_PASSWORD = "bad_password"


def opened_by(records, password):
    """[(record, needs_rehash)] of the records whose password this is."""
    checked = ((record, verify_password(record.password_hash, password)) for record in records)
    return [(record, needs_rehash) for record, (ok, needs_rehash) in checked if ok]


def count_wrong_password(records, now, note):
    """The password opened none of `records`: each counts a failure (a locked one is only noted), `note(record,
    reason)` records each attempt. True when every record is locked now (the answer is then LOCKED)."""
    for record in records:
        if lockout.is_locked(record, now):
            note(record, LOCKED)
        else:
            lockout.register_failure(record, now)
            note(record, BAD_PASSWORD)
    return all(lockout.is_locked(record, now) for record in records)
