"""Request glue shared by every blueprint: the SSO cookie and the signed-in account (sso), security
headers, error pages, WTForms' translations and the name of the login endpoint (endpoints).

This package reads `flask.request`; the services it calls do not.
"""
