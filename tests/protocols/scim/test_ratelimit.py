"""Every token has its own request budget (IDP_SCIM_RATELIMIT); over it: 429 with Retry-After. The budget
holds in the rate limiter's storage and, while that is unreachable (Redis down), in each process's memory."""
import pytest

from tests.protocols.scim.conftest import SCIM_JSON, ScimClient, make_token
from tests.support.ratelimit_storage import STORAGE_STATES, storage_overrides


@pytest.fixture(params=STORAGE_STATES)
def config_overrides(request):
    return {"IDP_SCIM_RATELIMIT": "3/minute", **storage_overrides(request)}


def test_too_many_requests_of_one_token_are_429(app, client, clock, scim):
    for _ in range(3):
        assert scim.get("/ServiceProviderConfig").status_code == 200
    response = scim.get("/ServiceProviderConfig")
    assert response.status_code == 429 and response.mimetype == SCIM_JSON
    assert int(response.headers["Retry-After"]) >= 1
    assert ScimClient(client, make_token(app, clock, name="別のトークン")).get("/Users").status_code == 200
