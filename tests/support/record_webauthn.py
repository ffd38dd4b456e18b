"""Record real WebAuthn responses of Chromium's virtual authenticator for the passkey unit tests.

    .venv/bin/python -m tests.support.record_webauthn [--out tests/idp/authn/mfa/fixtures]

Chromium (headless, /usr/bin/chromium) opens a blank page at the fixed origin http://localhost:8000 (and a
second one at http://localhost:8001, the "phishing" origin): Playwright answers those URLs itself
(`page.route`), so the origin is fixed without binding a port and nothing leaves loopback. A virtual
authenticator (CTAP2, internal, resident keys, user verification) is added through the Chrome DevTools
Protocol, and `navigator.credentials.create/get` run with fixed challenges and the RP ID `localhost`
(Chromium refuses an IP address such as 127.0.0.1 as RP ID). Each response is checked with py_webauthn
before it is written, so a fixture that does not verify is never saved.

Per algorithm (ES256 -7, RS256 -257) one JSON file: the RP ID, origin, the account's subject (the user
handle is its bytes), the registration and two discoverable logins (sign counts rising), each with its
challenge; the ES256 file also has an assertion and a registration made at the other origin. No private
key is stored: the authenticator is thrown away with the browser.
"""
import argparse
import base64
import hashlib
import json
import os

import webauthn
from webauthn.helpers.structs import AuthenticatorSelectionCriteria, ResidentKeyRequirement, UserVerificationRequirement

from tests.support.webauthn import VirtualAuthenticator

RP_ID = "localhost"
ORIGIN = "http://localhost:8000"
BAD_ORIGIN = "http://localhost:8001"
FIXTURES = os.path.join(os.path.dirname(__file__), "..", "idp", "authn", "mfa", "fixtures")
ALGORITHMS = {"es256": (-7, "passkeyFixtureSubjectEs256xxxxxx"), "rs256": (-257, "passkeyFixtureSubjectRs256xxxxxx")}
PAGE = "<!doctype html><html><head><title>record</title></head><body>recorder</body></html>"

CREATE_JS = """async (options) => {
  const credential = await navigator.credentials.create(
    {publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options)});
  return credential.toJSON();
}"""
GET_JS = """async (options) => {
  const credential = await navigator.credentials.get(
    {publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options)});
  return credential.toJSON();
}"""


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def fixed_challenge(label):
    """32 bytes that are the same at every recording, so a re-recorded fixture differs only in keys."""
    return hashlib.sha256(b"matome-login passkey fixture " + label.encode()).digest()


def creation_options(challenge, subject, algorithm):
    options = webauthn.generate_registration_options(
        rp_id=RP_ID, rp_name="まとめログイン", user_id=subject.encode(), user_name="passkey@example.com",
        user_display_name="パスキー 太郎", challenge=challenge, supported_pub_key_algs=[algorithm],
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED, user_verification=UserVerificationRequirement.REQUIRED))
    return json.loads(webauthn.options_to_json(options))


def request_options(challenge):
    options = webauthn.generate_authentication_options(
        rp_id=RP_ID, challenge=challenge, user_verification=UserVerificationRequirement.REQUIRED)
    return json.loads(webauthn.options_to_json(options))


def register(page, label, subject, algorithm, origin=ORIGIN):
    challenge = fixed_challenge(label)
    credential = page.evaluate(CREATE_JS, creation_options(challenge, subject, algorithm))
    verified = webauthn.verify_registration_response(
        credential=credential, expected_challenge=challenge, expected_rp_id=RP_ID, expected_origin=origin,
        require_user_verification=True, supported_pub_key_algs=[algorithm])
    return {"challenge": b64url(challenge), "origin": origin, "credential": credential}, verified


def assert_login(page, label, verified, sign_count, origin=ORIGIN):
    challenge = fixed_challenge(label)
    credential = page.evaluate(GET_JS, request_options(challenge))
    checked = webauthn.verify_authentication_response(
        credential=credential, expected_challenge=challenge, expected_rp_id=RP_ID, expected_origin=origin,
        credential_public_key=verified.credential_public_key, credential_current_sign_count=sign_count,
        require_user_verification=True)
    return {"challenge": b64url(challenge), "origin": origin, "sign_count": checked.new_sign_count,
            "credential": credential}, checked.new_sign_count


def record(browser, name):
    algorithm, subject = ALGORITHMS[name]
    page = browser.new_page()
    for origin in (ORIGIN, BAD_ORIGIN):
        page.route(origin + "/**", lambda route: route.fulfill(body=PAGE, content_type="text/html"))
    page.goto(ORIGIN + "/")
    with VirtualAuthenticator(page) as authenticator:
        registration, verified = register(page, f"{name} register", subject, algorithm)
        count, logins = verified.sign_count, []
        for number in (1, 2):
            login, count = assert_login(page, f"{name} login {number}", verified, count)
            logins.append(login)
        fixture = {"rp_id": RP_ID, "origin": ORIGIN, "algorithm": algorithm, "subject": subject,
                   "user_handle": b64url(subject.encode()), "credential_id": registration["credential"]["id"],
                   "registration_sign_count": verified.sign_count,
                   "registration": registration, "logins": logins,
                   "recorded_with": browser.version + ", virtual authenticator ctap2/internal, UV"}
        if name == "es256":
            page.goto(BAD_ORIGIN + "/")
            fixture["bad_origin_login"], count = assert_login(page, "es256 bad origin login", verified, count,
                                                              origin=BAD_ORIGIN)
            fixture["bad_origin_registration"], _ = register(page, "es256 bad origin register",
                                                             "passkeyFixtureSubjectPhishedxxxx", algorithm,
                                                             origin=BAD_ORIGIN)
        fixture["authenticator_sign_count"] = authenticator.sign_count(fixture["credential_id"])
    page.close()
    return fixture


def main(argv=None):
    from playwright.sync_api import sync_playwright

    from conftest import CHROMIUM, CHROMIUM_ARGS
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=FIXTURES)
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        for name in ALGORITHMS:
            path = os.path.join(args.out, f"{name}.json")
            with open(path, "w", encoding="utf-8") as fh:
                json.dump(record(browser, name), fh, ensure_ascii=False, indent=1)
                fh.write("\n")
            print("wrote", os.path.relpath(path))
        browser.close()


if __name__ == "__main__":
    main()
