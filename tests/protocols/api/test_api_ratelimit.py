"""Every API client has its own request budget (IDP_RATELIMIT_API_CLIENT); over it: 429 problem+json with
Retry-After. The budget holds in the rate limiter's storage and, while that is unreachable (Redis down),
in each process's memory."""
import pytest

from tests.protocols.api.conftest import Api, problem
from tests.support.ratelimit_storage import STORAGE_STATES, storage_overrides


@pytest.fixture(params=STORAGE_STATES)
def config_overrides(request):
    return {"IDP_RATELIMIT_API_CLIENT": "3/minute", **storage_overrides(request)}


def test_rate_limited_per_client(client, api, register_client, token_for):
    for _ in range(3):
        assert api.get("/apps").status_code == 200
    response = api.get("/apps")
    problem(response, 429)
    assert int(response.headers["Retry-After"]) >= 1
    other = Api(client, token_for(register_client(name="別の連携")))
    assert other.get("/apps").status_code == 200  # counted per client
