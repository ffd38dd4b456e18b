"""SCIM 2.0 server of each tenant: /t/<tenant>/scim/v2 (RFC 7643/7644; docs/provisioning.md)."""


def init_app(app):
    pass
