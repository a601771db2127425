import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

NEW = "quartz-Meadow-58-river"


def _request_reset_link(client, email: str) -> str:
    """Ask for a reset mail and return the path of the link in it."""
    client.post(reverse("accounts:password_reset"), {"email": email})
    return re.search(r"http://testserver(/accounts/password/reset/\S+)", mail.outbox[-1].body)[1]


def test_it_changes_the_password_and_keeps_the_user_logged_in(owner_client, owner, password):
    response = owner_client.post(
        reverse("accounts:password_change"),
        {"old_password": password, "new_password1": NEW, "new_password2": NEW},
    )

    assert response.status_code == 302
    assert response.url == reverse("accounts:password_change_done")
    owner.refresh_from_db()
    assert owner.check_password(NEW)
    assert owner_client.get(reverse("accounts:profile")).status_code == 200


def test_it_refuses_a_password_change_with_a_wrong_old_password(owner_client, owner, password):
    response = owner_client.post(
        reverse("accounts:password_change"),
        {"old_password": "wrong", "new_password1": NEW, "new_password2": NEW},
    )

    assert response.status_code == 200
    owner.refresh_from_db()
    assert owner.check_password(password)


def test_it_redirects_anonymous_password_change_to_login(client):
    url = reverse("accounts:password_change")

    response = client.get(url)

    assert response.status_code == 302
    assert response.url == f"{reverse('accounts:login')}?next={url}"


def test_it_mails_a_reset_link_to_the_account_address(client, owner_email_verified):
    response = client.post(reverse("accounts:password_reset"), {"email": "owner@example.com"})

    assert response.status_code == 302
    assert response.url == reverse("accounts:password_reset_done")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["owner@example.com"]
    assert mail.outbox[0].subject == "Reset your DigitRec password"


def test_it_sets_a_new_password_through_the_mailed_link(client, owner, owner_email_verified):
    link = _request_reset_link(client, "owner@example.com")

    # The link redirects to a URL without the token, as Django hides it from referrers.
    form_url = client.get(link).url
    response = client.post(form_url, {"new_password1": NEW, "new_password2": NEW})

    assert response.status_code == 302
    assert response.url == reverse("accounts:password_reset_complete")
    owner.refresh_from_db()
    assert owner.check_password(NEW)


def test_the_link_carries_its_token_in_the_query_string_not_the_path(client, owner, owner_email_verified):
    link = urlsplit(_request_reset_link(client, "owner@example.com"))
    token = parse_qs(link.query)["token"][0]

    assert link.path == reverse("accounts:password_reset_confirm", args=[urlsafe_base64_encode(
        force_bytes(owner.pk))])
    assert default_token_generator.check_token(owner, token) and token not in link.path
    # The form it leads to has no token in its address either.
    assert client.get(f"{link.path}?{link.query}").url == f"{link.path}set-password/"


def test_it_mails_no_reset_link_to_an_unverified_address_but_says_the_same(client, owner):
    response = client.post(reverse("accounts:password_reset"), {"email": "owner@example.com"})

    assert response.status_code == 302
    assert response.url == reverse("accounts:password_reset_done")
    assert mail.outbox == []


def test_it_sends_no_email_for_an_unknown_address_but_says_the_same(client, owner):
    response = client.post(reverse("accounts:password_reset"), {"email": "nobody@example.com"})

    assert response.status_code == 302
    assert response.url == reverse("accounts:password_reset_done")
    assert mail.outbox == []


def test_it_rejects_a_used_reset_link(client, owner_email_verified):
    link = _request_reset_link(client, "owner@example.com")
    form_url = client.get(link).url
    client.post(form_url, {"new_password1": NEW, "new_password2": NEW})

    response = client.get(link, follow=True)

    assert response.status_code == 200
    assert "This link no longer works" in response.content.decode()


def _api_status(key: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/v1/predictions/").status_code


def test_a_password_change_replaces_the_api_token(client, owner, password):
    old = Token.objects.create(user=owner).key
    client.force_login(owner)

    client.post(reverse("accounts:password_change"),
                {"old_password": password, "new_password1": NEW, "new_password2": NEW})

    assert _api_status(old) == 401
    new = Token.objects.get(user=owner).key
    assert new != old and _api_status(new) == 200


def test_a_password_reset_replaces_the_api_token(client, owner, owner_email_verified):
    old = Token.objects.create(user=owner).key
    link = _request_reset_link(client, "owner@example.com")

    client.post(client.get(link).url, {"new_password1": NEW, "new_password2": NEW})

    assert _api_status(old) == 401
    assert Token.objects.get(user=owner).key != old


def test_a_refused_password_change_keeps_the_api_token(client, owner):
    old = Token.objects.create(user=owner).key
    client.force_login(owner)

    client.post(reverse("accounts:password_change"),
                {"old_password": "wrong", "new_password1": NEW, "new_password2": NEW})

    assert Token.objects.get(user=owner).key == old
