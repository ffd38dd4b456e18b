"""The SaaS catalog (issue 17): well-known services an admin adds by picking one and typing one to three values.

Each service is data, one TOML file in idp/catalog/presets/ (docs/catalog.md), checked by `schema` when
`presets` loads the folder (at start-up: a broken preset stops the app). `registration` fills the preset's
templates with the admin's inputs and registers the app through the protocol's registry (idp.saml.registry,
idp.oidc.clients); `steps` gives the app page the preset's setup steps with our values filled in; `icons`
draws the picker's icon (initials on the brand colour).
"""
