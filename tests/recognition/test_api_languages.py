"""The API's error messages follow Accept-Language (English without it); the codes that
programs read stay the same in every language."""
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from tests.digitrec.languages import SCRIPTS

pytestmark = pytest.mark.django_db

LIST = "/api/v1/predictions/"


def _error(response) -> dict:
    return response.json()["error"]


@pytest.mark.parametrize("language", ["ta", "hi"])
def test_drfs_own_message_is_translated(language):
    response = APIClient().get(LIST, HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 401
    error = _error(response)
    assert error["code"] == "not_authenticated"
    assert SCRIPTS[language].search(error["message"]), error["message"]


def test_a_bad_token_is_refused_in_the_language():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)

    error = _error(client.get(LIST, HTTP_ACCEPT_LANGUAGE="hi"))

    assert error["code"] == "authentication_failed" and error["message"] == "अमान्य टोकन।"


@pytest.mark.parametrize("language", ["ta", "hi"])
def test_a_field_error_is_in_the_language(owner, token_client, language):
    response = token_client(owner).post(LIST, {"image": "data:image/png;base64,@@@"}, format="json",
                                        HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "invalid"
    assert SCRIPTS[language].search(error["message"]) and error["fields"]["image"] == [error["message"]]


def test_a_file_that_is_no_image_is_refused_in_the_language(owner, token_client):
    response = token_client(owner).post(LIST, {"image": SimpleUploadedFile("notes.png", b"not a picture")},
                                        format="multipart", HTTP_ACCEPT_LANGUAGE="ta")

    assert response.status_code == 415
    error = _error(response)
    assert error["code"] == "not_an_image"
    assert error["message"] == "இந்தக் கோப்பு நாங்கள் படிக்கக்கூடிய படம் அல்ல (PNG, JPEG, GIF, BMP அல்லது WebP)."


@pytest.mark.parametrize("language", ["ta", "hi"])
def test_not_found_is_in_the_language(owner, token_client, language):
    client = token_client(owner)

    nowhere = client.get("/api/v1/nowhere/", HTTP_ACCEPT_LANGUAGE=language)
    not_yours = client.get(f"{LIST}{uuid.uuid4()}/", HTTP_ACCEPT_LANGUAGE=language)

    assert nowhere.status_code == not_yours.status_code == 404
    for response in (nowhere, not_yours):
        assert _error(response)["code"] == "not_found"
        assert SCRIPTS[language].search(_error(response)["message"]), _error(response)["message"]


def test_a_failed_predictions_error_is_in_the_readers_language(owner, token_client, finished_prediction,
                                                                blank_png):
    prediction = finished_prediction(owner, blank_png)
    client = token_client(owner)

    english = client.get(f"{LIST}{prediction.pk}/").json()
    hindi = client.get(f"{LIST}{prediction.pk}/", HTTP_ACCEPT_LANGUAGE="hi").json()

    assert english["error_code"] == hindi["error_code"] == "no_digit"
    assert english["error"].startswith("No digit found")
    assert hindi["error"].startswith("कोई अंक नहीं मिला")


def test_the_api_sign_up_form_errors_are_in_the_language():
    response = APIClient().post("/api/v1/auth/register/", {"username": "ada", "password": "1234"}, format="json",
                                HTTP_ACCEPT_LANGUAGE="ta")

    assert response.status_code == 400
    password_errors = _error(response)["fields"]["password"]
    assert password_errors and all(SCRIPTS["ta"].search(message) for message in password_errors)


def test_without_accept_language_the_api_answers_in_english():
    error = _error(APIClient().get(LIST))

    assert error["message"] == "Authentication credentials were not provided."
