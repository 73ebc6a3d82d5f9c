"""Sign-in through the ministry's identity provider: a real OIDC provider on a free local port, the app's own pages."""
from __future__ import annotations

import re
import socket
from contextlib import ExitStack
from datetime import timedelta
from urllib.parse import parse_qs, quote, urlsplit

import oidc_provider_mock
import pyotp
import pytest
import requests
from axe_playwright_python.sync_playwright import Axe
from sqlalchemy import select

from app import create_app
from core.audit import AuditEntry
from core.db import db
from core.users import link_sso
from tests.browser import WCAG, browser_on
from tests.factories import OIDC_CLIENT_SECRET, TEST_ACTOR, login, make_user, next_code


@pytest.fixture
def provider_factory(monkeypatch):
    """Start OIDC providers (oidc-provider-mock, nonce required) on free ports; each stops with the test."""
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # the local provider speaks http, not https
    with ExitStack() as servers:

        def start(**options):
            server = servers.enter_context(oidc_provider_mock.run_server_in_thread(require_nonce=True, **options))
            return f"http://localhost:{server.server_port}"

        yield start


@pytest.fixture
def provider(provider_factory):
    return provider_factory()


@pytest.fixture
def make_sso_app(app):
    """An app on this test's database, set up for the provider at `issuer` (and any other settings)."""
    made = []

    def make(issuer: str | None, **settings):
        config = {key: app.config[key] for key in ("TESTING", "SQLALCHEMY_DATABASE_URI", "SECRET_KEY", "AUDIT_KEY",
                                                    "WTF_CSRF_ENABLED")}
        if issuer:
            config.update(OIDC_ISSUER=issuer, OIDC_CLIENT_ID="programmamonitor", OIDC_CLIENT_SECRET=OIDC_CLIENT_SECRET)
        made.append(create_app({**config, **settings}))
        made[-1].test_client_class = app.test_client_class  # posts as from a fresh form (conftest.FormClient)
        return made[-1]

    yield make
    for other in made:  # PostgreSQL: no connection may stay open for the teardown's TRUNCATE
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def sso_app(make_sso_app, provider):
    return make_sso_app(provider)


def _user(session, role: str, subject: str | None = None, email: str | None = None):
    user = make_user(session, role, email)
    if subject:
        link_sso(session, TEST_ACTOR, user, subject)
    session.commit()
    return user


def _claims(issuer: str, sub: str, **claims) -> None:
    assert requests.put(f"{issuer}/users/{quote(sub)}", json=claims, timeout=5).status_code == 204


def _to_provider(client) -> str:
    started = client.get("/login/sso")
    assert started.status_code == 302
    return started.headers["Location"]


def _sign_in(client, sub: str):
    """The person presses the button, signs in at the provider as `sub`, and comes back with a code."""
    back = requests.post(_to_provider(client), data={"sub": sub}, allow_redirects=False, timeout=5)
    assert back.status_code == 302, back.text
    return client.get(back.headers["Location"])


def _signed_in_as(client) -> str:
    page = client.get("/account/api-tokens")
    return "" if page.status_code != 200 else page.get_data(as_text=True)


def test_a_linked_person_signs_in_with_pkce_state_and_nonce_and_keeps_their_role_here(session, sso_app, provider):
    fin = _user(session, "financieel", subject="ab-12345")
    # The provider knows them under another address and claims a role: neither counts here.
    _claims(provider, "ab-12345", email="a.bakker@minjenv.example", role="beheerder")
    client = sso_app.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    assert "Inloggen met uw ministerie-account" in login_page and 'name="password"' in login_page

    query = parse_qs(urlsplit(_to_provider(client)).query)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43
    assert query["state"][0] and query["nonce"][0] and query["scope"] == ["openid email profile"]
    assert query["redirect_uri"] == ["http://localhost/login/sso/terug"]

    landed = _sign_in(client, "ab-12345")
    assert landed.status_code == 302 and landed.headers["Location"] == "/"
    assert fin.name in _signed_in_as(client)
    assert client.get("/gebruikers/").status_code == 403  # still a finance officer, not a beheerder


def test_the_page_asked_for_before_signing_in_is_where_one_lands(session, sso_app, provider):
    _user(session, "lezer", subject="lz-1")
    client = sso_app.test_client()
    asked = client.get("/rapportage")
    assert asked.status_code == 302 and "/login" in asked.headers["Location"]
    start = client.get("/login/sso?next=/rapportage")
    back = requests.post(start.headers["Location"], data={"sub": "lz-1"}, allow_redirects=False, timeout=5)
    assert client.get(back.headers["Location"]).headers["Location"] == "/rapportage"
    # An address elsewhere is not followed.
    start = client.get("/login/sso?next=//evil.example/x")
    back = requests.post(start.headers["Location"], data={"sub": "lz-1"}, allow_redirects=False, timeout=5)
    assert client.get(back.headers["Location"]).headers["Location"] == "/"


def test_an_unknown_or_deactivated_person_is_refused_with_whom_to_ask(session, make_sso_app, provider):
    sso_app = make_sso_app(provider, ACCOUNT_CONTACT="het Servicepunt Programmamonitor (servicepunt@minjenv.example)")
    gone = _user(session, "financieel", subject="gone-1")
    from core.users import set_active

    set_active(session, TEST_ACTOR, gone, False)
    session.commit()
    for sub in ("nobody-here", "gone-1"):
        client = sso_app.test_client()
        refused = _sign_in(client, sub)
        text = refused.get_data(as_text=True)
        assert refused.status_code == 403
        assert "geen actief account in Programmamonitor" in text and "servicepunt@minjenv.example" in text
        assert _signed_in_as(client) == ""


def test_a_tampered_or_foreign_state_is_refused(session, sso_app, provider):
    _user(session, "financieel", subject="st-1")
    client = sso_app.test_client()
    back = requests.post(_to_provider(client), data={"sub": "st-1"}, allow_redirects=False, timeout=5)
    url = urlsplit(back.headers["Location"])
    query = parse_qs(url.query)
    tampered = client.get(f"{url.path}?code={query['code'][0]}&state=nagemaakt")
    assert tampered.status_code == 400 and "niet gelukt" in tampered.get_data(as_text=True)
    assert _signed_in_as(client) == ""
    # The real answer, carried to another browser (a login forced on someone): no state there, refused.
    other = sso_app.test_client()
    assert other.get(back.headers["Location"]).status_code == 400 and _signed_in_as(other) == ""
    # And a return with nothing at all, or only an error from the provider.
    assert other.get("/login/sso/terug").status_code == 400
    assert other.get("/login/sso/terug?error=server_error&state=x").status_code == 400


def test_a_used_or_expired_code_is_refused(session, sso_app, provider):
    _user(session, "financieel", subject="cd-1")
    client = sso_app.test_client()
    back = requests.post(_to_provider(client), data={"sub": "cd-1"}, allow_redirects=False, timeout=5)
    code = parse_qs(urlsplit(back.headers["Location"]).query)["code"][0]
    # Someone redeems the code first; the provider then refuses it, as it refuses an expired one.
    stolen = requests.post(f"{provider}/oauth2/token", timeout=5, auth=("programmamonitor", OIDC_CLIENT_SECRET),
                           data={"grant_type": "authorization_code", "code": code,
                                 "redirect_uri": "http://localhost/login/sso/terug"})
    assert stolen.status_code == 200
    refused = client.get(back.headers["Location"])
    assert refused.status_code == 400 and "niet gelukt of verlopen" in refused.get_data(as_text=True)
    assert _signed_in_as(client) == ""


def test_an_expired_id_token_is_refused(session, make_sso_app, provider_factory):
    # The provider's tokens expired five minutes before they were made: beyond any clock leeway.
    sso_app = make_sso_app(provider_factory(access_token_max_age=timedelta(minutes=-5)))
    _user(session, "financieel", subject="old-1")
    client = sso_app.test_client()
    assert _sign_in(client, "old-1").status_code == 400 and _signed_in_as(client) == ""


def test_logout_ends_the_session_here_and_at_the_provider(session, sso_app, provider):
    fin = _user(session, "financieel", subject="lo-1")
    client = sso_app.test_client()
    _sign_in(client, "lo-1")
    cookie_before = client.get_cookie("session").value
    out = client.post("/logout")
    end = urlsplit(out.headers["Location"])
    assert f"{end.scheme}://{end.netloc}{end.path}" == f"{provider}/oauth2/end_session"
    query = parse_qs(end.query)
    assert query["post_logout_redirect_uri"] == ["http://localhost/login"] and query["id_token_hint"][0].count(".") == 2
    assert _signed_in_as(client) == ""
    # The provider's page ends its own session and sends the browser back to our login page.
    assert requests.get(out.headers["Location"], timeout=5).status_code == 200
    # The old cookie, replayed, is dead too.
    replay = sso_app.test_client()
    replay.set_cookie("session", cookie_before)
    assert fin.name not in _signed_in_as(replay)


def test_a_beheerder_keeps_totp_unless_the_provider_asserts_a_second_factor(session, sso_app, provider):
    admin = _user(session, "beheerder", subject="bh-1")
    admin.totp_secret = pyotp.random_base32()
    session.commit()
    client = sso_app.test_client()
    _claims(provider, "bh-1", amr=["pwd"])
    asked = _sign_in(client, "bh-1")
    assert asked.headers["Location"] == "/login/code" and _signed_in_as(client) == ""
    done = client.post("/login/code", data={"code": next_code(client, admin)})
    assert done.status_code == 302 and admin.name in _signed_in_as(client)

    _claims(provider, "bh-1", amr=["pwd", "mfa"])
    vouched = sso_app.test_client()
    assert _sign_in(vouched, "bh-1").headers["Location"] == "/"
    assert admin.name in _signed_in_as(vouched)


def test_an_acr_can_count_as_a_second_factor_where_configured(session, make_sso_app, provider):
    sso_app = make_sso_app(provider, OIDC_MFA_ACR="urn:minjenv:loa:substantieel")
    _user(session, "beheerder", subject="bh-2")
    _claims(provider, "bh-2", acr="urn:minjenv:loa:substantieel")
    assert _sign_in(sso_app.test_client(), "bh-2").headers["Location"] == "/"
    _claims(provider, "bh-2", acr="urn:minjenv:loa:laag")
    assert _sign_in(sso_app.test_client(), "bh-2").headers["Location"] == "/login/koppelen"


def test_matching_on_e_mail_where_the_beheerder_chose_so(session, make_sso_app, provider):
    sso_app = make_sso_app(provider, OIDC_MATCH="email")
    fin = _user(session, "financieel", email="c.de.vries@minjenv.example")
    _claims(provider, "cv-1", email="C.de.Vries@minjenv.example", email_verified=True)
    client = sso_app.test_client()
    assert _sign_in(client, "cv-1").status_code == 302 and fin.name in _signed_in_as(client)
    # An address the provider does not vouch for could be anybody's.
    _claims(provider, "cv-2", email="c.de.vries@minjenv.example", email_verified=False)
    assert _sign_in(sso_app.test_client(), "cv-2").status_code == 403


def test_local_login_off_removes_the_password_form_and_the_route_refuses(session, make_sso_app, provider):
    sso_app = make_sso_app(provider, LOCAL_LOGIN=False)
    fin = _user(session, "financieel", subject="pw-1")
    client = sso_app.test_client()
    page = client.get("/login").get_data(as_text=True)
    assert "Inloggen met uw ministerie-account" in page and 'name="password"' not in page
    refused = login(client, fin)
    assert refused.status_code == 403 and "Inloggen met een wachtwoord staat uit" in refused.get_data(as_text=True)
    assert _signed_in_as(client) == ""
    assert _sign_in(client, "pw-1").status_code == 302 and fin.name in _signed_in_as(client)


def test_without_a_provider_passwords_cannot_be_switched_off(make_sso_app):
    with pytest.raises(RuntimeError, match="OIDC_ISSUER"):
        make_sso_app(None, LOCAL_LOGIN=False)


def test_without_a_provider_there_is_no_sso_button_or_route(client):
    assert "ministerie-account" not in client.get("/login").get_data(as_text=True)
    assert client.get("/login/sso").status_code == 404


def test_the_beheerder_links_an_account_on_the_user_page_and_the_cli(session, sso_app, runner):
    admin = _user(session, "beheerder")
    anna, bram = _user(session, "financieel"), _user(session, "lezer", subject="taken-1")
    client = sso_app.test_client()
    login(client, admin)
    assert "Ministerie-account (SSO)" in client.get(f"/gebruikers/{anna.id}").get_data(as_text=True)
    clash = client.post(f"/gebruikers/{anna.id}/sso", data={"sso_subject": "taken-1"})
    assert clash.status_code == 400 and "hoort al bij een andere gebruiker" in clash.get_data(as_text=True)
    saved = client.post(f"/gebruikers/{anna.id}/sso", data={"sso_subject": " an-777 "}, follow_redirects=True)
    assert "SSO-koppeling van" in saved.get_data(as_text=True)
    session.expire_all()
    assert anna.sso_subject == "an-777"
    entry = session.scalars(select(AuditEntry).where(AuditEntry.entity == "User", AuditEntry.entity_id == anna.id)
                            .order_by(AuditEntry.id.desc())).first()
    assert entry.changes_dict["after"] == {"sso_subject": "an-777"}
    result = runner.invoke(args=["users", "link-sso", bram.email, ""])
    assert result.exit_code == 0 and "niet meer aan de identiteitsprovider gekoppeld" in result.output
    session.expire_all()
    assert bram.sso_subject is None


def test_with_passwords_off_a_new_colleague_is_added_with_their_sso_subject_not_a_password(session, make_sso_app,
                                                                                            provider):
    sso_app = make_sso_app(provider, LOCAL_LOGIN=False)
    _user(session, "beheerder", subject="bh-9")
    _claims(provider, "bh-9", amr=["mfa"])
    client = sso_app.test_client()
    _sign_in(client, "bh-9")
    form = client.get("/gebruikers/nieuw").get_data(as_text=True)
    assert 'name="password"' not in form and 'name="sso_subject"' in form
    added = client.post("/gebruikers/nieuw", data={"email": "nieuw@minjenv.example", "name": "Nina Nieuw",
                                                   "role": "lezer", "sso_subject": "nn-1"}, follow_redirects=True)
    assert "Gebruiker nieuw@minjenv.example toegevoegd" in added.get_data(as_text=True)
    newcomer = sso_app.test_client()
    assert _sign_in(newcomer, "nn-1").status_code == 302 and "Nina Nieuw" in _signed_in_as(newcomer)


def _fits_and_passes_axe(page) -> None:
    """On a phone and a desktop: nothing wider than the window, no WCAG 2.1 AA violation."""
    for width in (375, 1280):
        page.set_viewport_size({"width": width, "height": 800})
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        result = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG}, "resultTypes": ["violations"]})
        assert result.violations_count == 0, result.generate_report()


@pytest.mark.browser
def test_in_a_browser_a_person_signs_in_at_the_provider_lands_on_the_page_asked_and_signs_out_there_too(
        session, sso_app, provider):
    fin = _user(session, "financieel", subject="br-1")
    with browser_on(sso_app) as (base, page):
        # Saying no at the provider brings a Dutch page back, not an error.
        page.goto(f"{base}/login")
        page.get_by_role("link", name="Inloggen met uw ministerie-account").click()
        page.get_by_role("button", name="Deny").click()
        assert page.get_by_role("heading", name="Inloggen niet gelukt").is_visible()
        _fits_and_passes_axe(page)
        page.goto(f"{base}/login")
        _fits_and_passes_axe(page)

        page.goto(f"{base}/budget")
        page.get_by_role("link", name="Inloggen met uw ministerie-account").click()
        page.get_by_placeholder("sub").fill("br-1")
        page.get_by_role("button", name="Authorize").click()
        page.wait_for_url(f"{base}/budget")
        assert page.get_by_text(fin.name).first.is_visible()

        page.get_by_role("button", name="Uitloggen").click()
        page.get_by_role("button", name="End session").click()  # the provider's own page
        page.wait_for_url(re.compile(re.escape(f"{base}/login")))
        assert page.get_by_text("U bent uitgelogd.").is_visible()
        page.goto(f"{base}/budget")
        assert "/login" in page.url


def test_many_colleagues_behind_one_address_sign_in_but_refusals_are_limited(session, make_sso_app, provider):
    sso_app = make_sso_app(provider, RATELIMIT_ENABLED=True)
    _user(session, "lezer", subject="many-1")
    # Twenty-five sign-ins from one address within the minute: a department at nine o'clock.
    assert all(_sign_in(sso_app.test_client(), "many-1").status_code == 302 for _ in range(25))
    # Twenty refused returns from one address, then the next is told to wait.
    refusals = [_sign_in(sso_app.test_client(), "stranger").status_code for _ in range(21)]
    assert refusals == [403] * 20 + [429]


def test_a_provider_that_is_down_gets_a_dutch_page_not_an_error(session, make_sso_app):
    with socket.socket() as s:  # a free port: nothing answers there once it is closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sso_app = make_sso_app(f"http://127.0.0.1:{port}")
    down = sso_app.test_client().get("/login/sso")
    assert down.status_code == 503 and "niet bereikbaar" in down.get_data(as_text=True)
