"""The directory: accounts, their state (may they log in now), groups, passwords and emailed links.

Accounts are created by an admin, the CSV import or a sign-up; each is in exactly one group, and the
group decides which apps its members may use (idp.apps).
"""
