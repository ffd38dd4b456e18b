"""Authentication: password login, lockout, SSO sessions, the protocol-neutral identity, password
change and reset, and the second factor (idp.authn.mfa).

A login POST: login.authenticate (one password verification whatever the outcome, lockout counted) →
second_factor (a half-done login when a second factor is due) → sessions.start (the SSO cookie is set by
idp.web). Both protocols map their claims and attributes from identity.Identity.
"""
