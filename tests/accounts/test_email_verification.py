"""An email address is verified by a signed, expiring link mailed on sign-up and on change;
the account works meanwhile, and only a verified address gets password-reset mails."""
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core import mail, signing
from django.urls import reverse
from rest_framework.test import APIClient

from accounts import verification
from accounts.models import EmailVerification
from accounts.selectors import email_is_verified
from digitrec.throttling import EmailVerificationThrottle
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

STRONG = "plum-Orbit-47-lantern"
PROFILE = reverse("accounts:profile")


def _mailed_link() -> str:
    """The path and query of the verification link in the newest mail."""
    assert mail.outbox, "no mail was sent"
    url = re.search(r"http://testserver(\S+)", mail.outbox[-1].body)[1]
    assert urlsplit(url).path == reverse("accounts:email_verify")
    return url


def _register(client, email: str = "newbie@example.com"):
    return client.post(reverse("accounts:register"), {
        "username": "newbie", "email": email, "password1": STRONG, "password2": STRONG})


def _newbie():
    return get_user_model().objects.get(username="newbie")


def test_signing_up_on_the_page_mails_a_link_that_verifies_the_address(client):
    _register(client)
    assert mail.outbox[0].to == ["newbie@example.com"]
    assert mail.outbox[0].subject == "Verify your DigitRec email address"
    assert not email_is_verified(_newbie())

    response = client.get(_mailed_link())

    assert response.status_code == 302 and response.url == PROFILE
    assert email_is_verified(_newbie())
    assert EmailVerification.objects.get(user=_newbie()).email == "newbie@example.com"
    page = client.get(PROFILE).content.decode()
    assert 'data-testid="email-verified"' in page and "email not verified" not in page


def test_signing_up_by_the_api_mails_the_link_too(client):
    response = APIClient().post("/api/v1/auth/register/", {
        "username": "newbie", "email": "newbie@example.com", "password": STRONG}, format="json")

    assert response.status_code == 201 and response.json()["verification_mail_sent"] is True
    client.get(_mailed_link())
    assert email_is_verified(_newbie())


def test_signing_up_without_an_email_mails_nothing(client):
    response = APIClient().post("/api/v1/auth/register/", {"username": "newbie", "password": STRONG},
                                format="json")

    assert response.json()["verification_mail_sent"] is False and mail.outbox == []


def test_an_unverified_user_uses_the_app_and_the_profile_offers_to_resend(client):
    _register(client)

    page = client.get(PROFILE)
    drawing = client.get(reverse("recognition:draw"))

    assert drawing.status_code == 200
    html = page.content.decode()
    assert "email not verified" in html and 'data-testid="resend-verification"' in html


def test_the_link_works_without_being_logged_in(client):
    _register(client)
    link = _mailed_link()
    client.logout()

    response = client.get(link)

    assert response.status_code == 302
    assert email_is_verified(_newbie())


def test_an_expired_link_is_refused_with_a_clear_page(client, owner, monkeypatch):
    four_days_ago = int(time.time()) - 4 * 24 * 3600
    monkeypatch.setattr(signing.TimestampSigner, "timestamp", lambda self: signing.b62_encode(four_days_ago))
    token = verification.make_token(owner)
    monkeypatch.undo()

    response = client.get(reverse("accounts:email_verify"), {"token": token})

    assert response.status_code == 400
    assert "This verification link has expired (links work for 3 days)" in response.content.decode()
    assert not EmailVerification.objects.exists()


@pytest.mark.parametrize("tamper", [
    lambda token: token[:-2] + ("AA" if token[-2:] != "AA" else "BB"),  # another signature
    lambda token: signing.dumps({"user": 1, "email": "mallory@example.com"}, salt="another.salt"),
    lambda token: "",
    lambda token: "not-a-token",
])
def test_a_tampered_link_is_refused_with_a_clear_page(client, owner, tamper):
    response = client.get(reverse("accounts:email_verify"), {"token": tamper(verification.make_token(owner))})

    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-testid="email-verify-failed"' in html and "This verification link is not valid" in html
    assert not EmailVerification.objects.exists()


def test_a_link_for_someone_elses_address_cannot_be_forged_by_editing_the_payload(client, owner, other):
    token = verification.make_token(owner)
    payload, rest = token.split(":", 1)
    forged = signing.b64_encode(f'{{"user":{other.pk},"email":"other@example.com"}}'.encode()).decode()

    response = client.get(reverse("accounts:email_verify"), {"token": f"{forged}:{rest}"})

    assert response.status_code == 400 and not EmailVerification.objects.exists()


def test_changing_the_email_needs_a_new_verification(owner_client, owner, owner_email_verified):
    assert email_is_verified(owner)

    response = owner_client.post(reverse("accounts:email_change"),
                                 {"email": "new@example.com", "password": PASSWORD})

    assert response.status_code == 302 and response.url == PROFILE
    owner.refresh_from_db()
    assert owner.email == "new@example.com" and not email_is_verified(owner)
    assert mail.outbox[-1].to == ["new@example.com"]
    assert "email not verified" in owner_client.get(PROFILE).content.decode()
    owner_client.get(_mailed_link())
    assert email_is_verified(owner)


def test_an_email_changed_elsewhere_is_no_longer_verified(owner, owner_email_verified):
    owner.email = "changed-in-the-admin@example.com"
    owner.save()

    assert not email_is_verified(owner)


def test_a_link_for_the_old_address_does_not_verify_the_new_one(owner_client, owner):
    old_link_token = verification.make_token(owner)
    owner_client.post(reverse("accounts:email_change"), {"email": "new@example.com", "password": PASSWORD})

    response = owner_client.get(reverse("accounts:email_verify"), {"token": old_link_token})

    assert response.status_code == 400 and "no longer on the account" in response.content.decode()
    owner.refresh_from_db()
    assert not email_is_verified(owner)


def test_an_email_in_use_by_another_account_whatever_its_case_is_refused(owner_client, owner, other):
    response = owner_client.post(reverse("accounts:email_change"),
                                 {"email": "OTHER@example.com", "password": PASSWORD})

    assert response.status_code == 400
    assert "A user with that email address already exists." in response.content.decode()
    owner.refresh_from_db()
    assert owner.email == "owner@example.com" and mail.outbox == []


@pytest.mark.parametrize("email", ["not-an-address", "", "a" * 250 + "@example.com"])
def test_a_bad_new_email_is_a_form_error(owner_client, owner, email):
    response = owner_client.post(reverse("accounts:email_change"), {"email": email, "password": PASSWORD})

    assert response.status_code == 400 and 'data-testid="error-email"' in response.content.decode()
    owner.refresh_from_db()
    assert owner.email == "owner@example.com"


def test_resending_mails_a_new_link_and_is_throttled(owner_client, owner, monkeypatch):
    monkeypatch.setattr(EmailVerificationThrottle, "THROTTLE_RATES", {"email_verification": "2/hour"})
    url = reverse("accounts:email_verification_resend")

    responses = [owner_client.post(url) for _ in range(3)]

    assert [r.status_code for r in responses] == [302, 302, 429]
    assert 0 < int(responses[-1]["Retry-After"]) <= 3600
    assert len(mail.outbox) == 2 and mail.outbox[0].to == ["owner@example.com"]
    owner_client.get(_mailed_link())
    assert email_is_verified(owner)


def test_email_changes_share_the_resend_throttle(owner_client, owner, monkeypatch):
    monkeypatch.setattr(EmailVerificationThrottle, "THROTTLE_RATES", {"email_verification": "2/hour"})

    change = reverse("accounts:email_change")
    codes = [owner_client.post(reverse("accounts:email_verification_resend")).status_code,
             owner_client.post(change, {"email": "a@example.com", "password": PASSWORD}).status_code,
             owner_client.post(change, {"email": "b@example.com", "password": PASSWORD}).status_code]

    assert codes == [302, 302, 429]
    owner.refresh_from_db()
    assert owner.email == "a@example.com"


def test_resending_for_a_verified_address_mails_nothing(owner_client, owner_email_verified):
    owner_client.post(reverse("accounts:email_verification_resend"))

    assert mail.outbox == []


def test_the_verification_link_keeps_its_token_out_of_the_path(client):
    _register(client)
    link = urlsplit(_mailed_link())

    assert link.path == reverse("accounts:email_verify") and parse_qs(link.query)["token"]


@pytest.mark.parametrize("name", ["email_change", "email_verification_resend"])
def test_anonymous_users_are_sent_to_log_in(client, name):
    response = client.post(reverse(f"accounts:{name}"), {"email": "x@example.com"})

    assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))
    assert mail.outbox == []


def test_a_mail_server_that_fails_does_not_fail_the_sign_up(client, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1

    response = _register(client)

    assert response.status_code == 302 and _newbie().email == "newbie@example.com"
    assert "could not send the verification mail" in client.get(PROFILE).content.decode()


def test_changing_the_email_needs_the_password(owner_client, owner):
    response = owner_client.post(reverse("accounts:email_change"),
                                 {"email": "new@example.com", "password": "wrong"})

    assert response.status_code == 400 and 'data-testid="error-password"' in response.content.decode()
    owner.refresh_from_db()
    assert owner.email == "owner@example.com" and mail.outbox == []


@pytest.mark.parametrize("via", ["page", "api"])
def test_an_address_mail_cannot_be_sent_to_is_refused_at_sign_up(client, via):
    unencodable = "a@" + "ü" * 63 + ".com"  # valid for Django's validator, but IDNA cannot encode it

    if via == "page":
        response = _register(client, email=unencodable)
        assert response.status_code == 200 and "Mail cannot be sent to this address." in response.content.decode()
    else:
        response = APIClient().post("/api/v1/auth/register/", {
            "username": "newbie", "email": unencodable, "password": STRONG}, format="json")
        assert response.status_code == 400
        assert response.json()["error"]["fields"]["email"] == ["Mail cannot be sent to this address."]
    assert not get_user_model().objects.filter(username="newbie").exists() and mail.outbox == []
