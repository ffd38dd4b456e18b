"""SCIM 2.0 server of each tenant: /t/<tenant>/scim/v2 (RFC 7643/7644; docs/provisioning.md).

An identity system (Entra ID, Okta, an HR system) authenticates with a tenant's bearer token
(blueprint.py, idp.provisioning.scim_tokens) → /Users and /Groups (users.py, groups.py) read through
idp.provisioning.scim_query and write through idp.console.scim_support (the console's rules and audit)
→ resources map to accounts and groups in idp.provisioning.scim_mapping; discovery.py and schemas.py
say what is supported.
"""


def init_app(app):
    from idp.platform.extensions import csrf
    from protocols.scim.blueprint import bp
    csrf.exempt(bp)  # called by identity systems with a bearer token, never by our forms
    app.register_blueprint(bp)
