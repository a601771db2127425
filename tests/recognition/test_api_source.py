"""The optional `source` of POST /api/v1/predictions/: the site's draw and upload pages (a
browser session) may name themselves; a program with a token is always recorded as "api"."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.authtoken.models import Token

from recognition.models import Prediction

pytestmark = pytest.mark.django_db

LIST = "/api/v1/predictions/"


def _session(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _token(user) -> Client:
    token, _ = Token.objects.get_or_create(user=user)
    return Client(HTTP_AUTHORIZATION=f"Token {token.key}")


def _image(png: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("digit.png", png, content_type="image/png")


@pytest.mark.parametrize("source", ["draw", "upload", "api"])
def test_it_records_the_source_a_browser_session_names(owner, digit_png, source):
    response = _session(owner).post(LIST, {"image": _image(digit_png[0]), "source": source})

    assert response.status_code == 202
    assert response.json()["source"] == source
    assert Prediction.objects.get(pk=response.json()["id"]).source == source


def test_it_records_api_when_a_session_names_no_source(owner, digit_png):
    response = _session(owner).post(LIST, {"image": _image(digit_png[0])})

    assert response.status_code == 202
    assert Prediction.objects.get().source == Prediction.Source.API


@pytest.mark.parametrize("source", ["draw", "upload"])
def test_it_records_api_for_a_token_client_whatever_source_it_names(owner, digit_png, source):
    response = _token(owner).post(LIST, {"image": _image(digit_png[0]), "source": source})

    assert response.status_code == 202
    assert response.json()["source"] == "api"
    assert Prediction.objects.get().source == Prediction.Source.API


def test_it_refuses_an_unknown_source_and_stores_nothing(owner, digit_png):
    response = _session(owner).post(LIST, {"image": _image(digit_png[0]), "source": "admin"})

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"source"}
    assert not Prediction.objects.exists()
