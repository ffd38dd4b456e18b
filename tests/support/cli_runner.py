"""The `idp` CLI in tests: the `cli` fixture (invoke a command in the app's CLI runner) and `ok_json`."""
import json

import pytest


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def invoke(*args, env=None):
        return runner.invoke(args=list(args), env=env)
    return invoke


def ok_json(result):
    """The command succeeded and stdout holds exactly one JSON object (one line)."""
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    assert result.stdout.endswith("\n") and result.stdout.count("\n") == 1, result.stdout
    data = json.loads(result.stdout)  # raises on anything besides one JSON document
    assert isinstance(data, dict)
    return data
