"""Every token has its own request budget (IDP_SCIM_RATELIMIT); over it: 429 with Retry-After. The budget
holds in the rate limiter's storage and, while that is unreachable (Redis down), in each process's memory."""
import socket

import pytest

from tests.protocols.scim.conftest import SCIM_JSON, ScimClient, make_token


@pytest.fixture(params=["storage answering", "storage unreachable"])
def config_overrides(request):
    overrides = {"IDP_SCIM_RATELIMIT": "3/minute"}
    if request.param == "storage unreachable":
        closed = socket.socket()  # bound, never listening: every connection is refused
        closed.bind(("127.0.0.1", 0))
        request.addfinalizer(closed.close)
        overrides["IDP_RATELIMIT_STORAGE"] = f"redis://127.0.0.1:{closed.getsockname()[1]}/0"
    return overrides


def test_too_many_requests_of_one_token_are_429(app, client, clock, scim):
    for _ in range(3):
        assert scim.get("/ServiceProviderConfig").status_code == 200
    response = scim.get("/ServiceProviderConfig")
    assert response.status_code == 429 and response.mimetype == SCIM_JSON
    assert int(response.headers["Retry-After"]) >= 1
    assert ScimClient(client, make_token(app, clock, name="別のトークン")).get("/Users").status_code == 200
