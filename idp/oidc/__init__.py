"""OpenID Connect rules of a tenant: clients, the authorization decision, codes, grants and token
families, the token strings (ID tokens, access tokens) and claims.

protocols.oidc parses requests and renders responses; the rules it applies live here.
"""
