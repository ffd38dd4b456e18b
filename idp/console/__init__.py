"""Use-cases of the admin console that cross contexts: accounts (create, edit, delete many, CSV,
search), groups and apps. admin_ui views call one function here per request."""
