"""Request glue shared by every blueprint: the SSO cookie and the signed-in account (sso), security
headers, error pages, WTForms' translations, the names of the login endpoints (endpoints) and URL input
that never reaches a view malformed (url_input: bounded integers, raw query bytes).

This package reads `flask.request`; the services it calls do not.
"""
