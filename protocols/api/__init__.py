"""The admin REST API of each tenant: /t/<tenant>/api/v1 (docs/api.md)."""


def init_app(app):
    pass
