"""Fixtures of the SP-metadata-by-URL tests (tests/support/sp_metadata.py): the SP's certificates and a
local server publishing its metadata."""
from tests.support.sp_metadata import metadata_server, new_sp_cert, sp_cert  # noqa: F401  (fixtures)
