"""schemathesis against the admin API served over real HTTP: it loads the live OpenAPI document, calls every
operation with an admin:write token, and checks that no answer is a 5xx and every answer (status,
Content-Type, body) is one the document describes.

schemathesis' own pytest loader (`from_fixture`) does not run under pytest 9 (it sets `Function._nodeid`),
so the test walks the operations itself, one small hypothesis run per operation."""
import socket
import threading

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)
from werkzeug.serving import make_server

from tests.protocols.api.conftest import API

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]
EXAMPLES = 8


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def port():
    return free_port()


@pytest.fixture
def config_overrides(port):
    return {"IDP_BASE_URL": f"http://127.0.0.1:{port}", "IDP_RATELIMIT_API_CLIENT": "100000/minute"}


@pytest.fixture
def live_api(app, port):
    """The test's app (its database) served on 127.0.0.1 over HTTP, threaded."""
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    thread.join(5)


def run_operation(operation, token):
    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, phases=[Phase.explicit, Phase.generate], database=None,
              suppress_health_check=list(HealthCheck))
    def check(case):
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
    check()


def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(live_api, api, factory):
    factory.group("acme", "営業")
    schema = schemathesis.openapi.from_url(f"{live_api}{API}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 20  # every route of protocols/api but the document itself
    for operation in operations:
        run_operation(operation, api.token)
