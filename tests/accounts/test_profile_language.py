"""A signed-in person's language is kept on their profile: chosen with the switcher, it
comes back at their next login, in any browser."""
import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from accounts.models import Profile
from accounts.services import profile_language, profile_language_set

pytestmark = pytest.mark.django_db

COOKIE = settings.LANGUAGE_COOKIE_NAME


def _html_lang(client: Client, url: str = "/") -> str:
    return re.search(r'<html lang="([^"]+)"', client.get(url).content.decode()).group(1)


def _log_in(client: Client, password: str):
    return client.post(reverse("accounts:login"), {"username": "owner", "password": password})


def test_the_switcher_saves_a_signed_in_users_choice_on_the_profile(owner_client, owner):
    response = owner_client.post(reverse("set_language"), {"language": "ta", "next": "/"})

    assert response.status_code == 302
    assert Profile.objects.get(user=owner).language == "ta"


def test_a_new_choice_replaces_the_saved_one(owner_client, owner):
    owner_client.post(reverse("set_language"), {"language": "ta", "next": "/"})
    owner_client.post(reverse("set_language"), {"language": "hi", "next": "/"})

    assert Profile.objects.get(user=owner).language == "hi"
    assert _html_lang(owner_client) == "hi"


def test_the_saved_language_comes_back_at_login_in_another_browser(owner, password):
    profile_language_set(user=owner, language="hi")
    browser = Client()  # no language cookie, an English Accept-Language

    response = _log_in(browser, password)

    assert response.status_code == 302
    assert response.cookies[COOKIE].value == "hi"
    assert _html_lang(browser) == "hi"


def test_a_language_chosen_before_login_is_saved_when_there_is_none(client, owner, password):
    client.post(reverse("set_language"), {"language": "ta", "next": "/"})
    assert not Profile.objects.filter(user=owner).exists()  # a visitor's choice is only a cookie

    _log_in(client, password)

    assert profile_language(user=owner) == "ta"
    assert _html_lang(client) == "ta"


def test_the_saved_language_wins_over_one_chosen_before_login(client, owner, password):
    profile_language_set(user=owner, language="hi")
    client.post(reverse("set_language"), {"language": "ta", "next": "/"})

    _log_in(client, password)

    assert profile_language(user=owner) == "hi"
    assert _html_lang(client) == "hi"


def test_a_language_the_site_does_not_offer_is_not_saved(owner_client, owner):
    owner_client.post(reverse("set_language"), {"language": "fr", "next": "/"})

    assert profile_language(user=owner) == ""
    assert _html_lang(owner_client) == "en"


def test_the_service_refuses_an_unknown_language(owner):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        profile_language_set(user=owner, language="xx")
    assert not Profile.objects.filter(user=owner).exists()


def test_one_users_choice_is_not_anothers(owner_client, owner, other):
    owner_client.post(reverse("set_language"), {"language": "ta", "next": "/"})

    assert profile_language(user=owner) == "ta"
    assert profile_language(user=other) == ""
