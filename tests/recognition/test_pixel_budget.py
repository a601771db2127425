"""Images with many pixels: shrunk when their decode fits the budget, refused with 413
"too many pixels" from the header when not, and decoded once, where they are recognised."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw

from recognition import runs, services
from recognition.models import Prediction
from tests.images import encode

pytestmark = pytest.mark.django_db

LIST = "/api/v1/predictions/"


def test_a_6000_px_webp_of_a_few_kb_is_a_413_too_many_pixels_and_stores_nothing(token_client, owner):
    image = Image.new("L", (6000, 6000), 255)
    ImageDraw.Draw(image).line((2000, 1500, 4000, 1500, 3000, 4500), fill=0, width=150)
    webp = encode(image, "WEBP", lossless=True)
    response = token_client(owner).post(LIST, {"image": SimpleUploadedFile("big.webp", webp)}, format="multipart")
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "too_many_pixels"
    assert "too many pixels: 6000 x 6000, at most" in error["message"]
    assert not Prediction.objects.exists()


def test_a_12000_px_png_of_a_7_is_shrunk_and_read_as_7(token_client, owner, mnist_test):
    x, y = mnist_test
    assert y[0] == 7
    sheet = Image.new("L", (12000, 12000), 255)
    sheet.paste(Image.fromarray(255 - x[0]).resize((8000, 8000), Image.Resampling.BILINEAR), (2000, 2000))
    png = encode(sheet)
    del sheet
    response = token_client(owner).post(LIST, {"image": SimpleUploadedFile("scan.png", png)}, format="multipart")
    assert response.status_code == 202
    runs.predictions_run([response.json()["id"]])
    prediction = Prediction.objects.get(pk=response.json()["id"])
    assert (prediction.status, prediction.answer) == (Prediction.Status.DONE, "7")


def test_an_image_that_fails_to_decode_after_the_header_check_fails_as_unreadable(owner):
    jpeg = encode(Image.effect_noise((400, 300), 60), "JPEG")
    prediction = services.prediction_create(owner=owner, image=jpeg[: len(jpeg) // 2], source="api")
    runs.predictions_run([prediction.pk])
    prediction.refresh_from_db()
    assert prediction.status == Prediction.Status.FAILED
    assert prediction.error_code == Prediction.ErrorCode.UNREADABLE
    assert "damaged or truncated" in prediction.error
