"""Signing keys: creation, encrypted storage, rotation, JWKS/metadata export."""
