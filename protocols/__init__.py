"""Protocol front-ends (OIDC, SAML): glue only, calling `idp` services."""
