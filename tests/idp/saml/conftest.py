"""Fixtures of the SP-metadata-by-URL tests (tests/support/sp_metadata.py): the SP's certificates and a
local server publishing its metadata."""
import pytest

from tests.protocols.saml.conftest import make_key_pair
from tests.support.sp_metadata import MetadataServer, sp_metadata


@pytest.fixture(scope="session")
def sp_cert():
    return make_key_pair("sp.example.com").cert


@pytest.fixture(scope="session")
def new_sp_cert():
    return make_key_pair("sp-2027.example.com").cert


@pytest.fixture
def metadata_server(sp_cert):
    server = MetadataServer()
    server.body = sp_metadata(sp_cert)
    yield server
    server.close()
