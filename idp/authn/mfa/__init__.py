"""The second factor: who needs one (policy), the half-done login and its steps (flow), TOTP
(totp), SMS codes (sms) and keyed digests and recovery codes (codes)."""
