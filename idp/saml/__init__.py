"""SAML 2.0 rules of a tenant: the SP registry, when to log in again and what an assertion says,
the front-channel logout after a session ends, and SP metadata import.

protocols.saml parses and signs the messages; the rules it applies live here.
"""
