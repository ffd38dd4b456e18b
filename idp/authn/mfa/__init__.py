"""The second factor's parts: who needs one (policy), TOTP (totp), SMS codes (sms), keyed digests and
recovery codes (codes). The half-done login that uses them is idp.authn.second_factor."""
