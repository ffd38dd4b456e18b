"""Single Logout: SP-initiated (signed LogoutRequest), propagated to the session's other SP, answered."""
from urllib.parse import parse_qs, urlsplit

from .conftest import SP2_ENTITY, OneLoginSp


def query_of(url):
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def local(url):
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_sp_initiated_logout_propagates_and_answers(client, login, register, onelogin_sp, sp2_keys):
    register()
    register(entity_id=SP2_ENTITY, acs_urls=("https://sp2.example.com/acs",), signing_cert=sp2_keys.cert,
             slo_url="https://sp2.example.com/slo", name="勤怠")
    sp1 = onelogin_sp()
    sp2 = OneLoginSp(client, sp2_keys, entity_id=SP2_ENTITY, acs="https://sp2.example.com/acs",
                     slo="https://sp2.example.com/slo")
    login()
    first = sp1.accept(client.get(sp1.login_url()))
    sp2.accept(client.get(sp2.login_url()))

    logout = sp1._auth("/slo")
    url = logout.logout(name_id=first.get_nameid(), session_index=first.get_session_index(),
                        name_id_format=first.get_nameid_format())
    request_id = logout.get_last_request_id()
    to_sp2 = client.get(local(url))
    assert to_sp2.status_code == 302 and to_sp2.headers["Location"].startswith("https://sp2.example.com/slo?")

    at_sp2 = sp2._auth("/slo", get=query_of(to_sp2.headers["Location"]))
    back_url = at_sp2.process_slo(keep_local_session=True)
    assert at_sp2.get_errors() == [], at_sp2.get_last_error_reason()  # our LogoutRequest's signature verified

    to_sp1 = client.get(local(back_url))
    assert to_sp1.status_code == 302 and to_sp1.headers["Location"].startswith("https://sp.example.com/slo?")
    at_sp1 = sp1._auth("/slo", get=query_of(to_sp1.headers["Location"]))
    at_sp1.process_slo(keep_local_session=True, request_id=request_id)
    assert at_sp1.get_errors() == [], at_sp1.get_last_error_reason()

    assert client.get("/").status_code == 302  # the SSO session is over
    again = client.get(sp1.login_url())
    assert "/login?" in again.headers["Location"]


def test_unsigned_logout_request_is_refused(client, login, register, onelogin_sp):
    register()
    sp = onelogin_sp(logoutRequestSigned=False)
    login()
    first = sp.accept(client.get(sp.login_url()))
    url = sp._auth("/slo").logout(name_id=first.get_nameid(), session_index=first.get_session_index())
    assert client.get(local(url)).status_code == 400
    assert client.get("/").status_code == 200  # still signed in
