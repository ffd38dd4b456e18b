"""Fixtures of the CLI tests: the `cli` runner (a module may define its own) and the SP-metadata server."""
from tests.support.cli_runner import cli  # noqa: F401  (a fixture)
from tests.support.sp_metadata import metadata_server, new_sp_cert, sp_cert  # noqa: F401  (fixtures)
