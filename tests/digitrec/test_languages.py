"""Every page in English, Tamil and Hindi: chosen by the browser's Accept-Language or by the
switcher on the page, written in the language's script, with <html lang> to match."""
import json
import re
import time

import pytest
from django.conf import settings
from django.urls import reverse

from tests.conftest import PASSWORD
from tests.digitrec.languages import SCRIPTS, english_words

pytestmark = pytest.mark.django_db

LANGUAGES = ["ta", "hi"]
HTML_LANG = re.compile(r'<html lang="([^"]+)"')
ANONYMOUS_PAGES = ["home", "about", "contact", "accounts:login", "accounts:register", "accounts:password_reset"]
SIGNED_IN_PAGES = ["recognition:draw", "recognition:upload", "recognition:history", "accounts:profile",
                   "accounts:password_change"]


def _heading(html: str) -> str:
    return re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S).group(1)


def _page(client, url: str, language: str) -> str:
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200, url
    assert response["Content-Language"] == language
    return response.content.decode()


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", ANONYMOUS_PAGES)
def test_it_writes_each_page_for_visitors_in_the_browsers_language(client, name, language):
    html = _page(client, reverse(name), language)

    assert HTML_LANG.search(html).group(1) == language
    assert SCRIPTS[language].search(_heading(html)), _heading(html)
    assert english_words(html, allowed={"support", "localhost"}) == set()  # the contact address


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", SIGNED_IN_PAGES)
def test_it_writes_each_signed_in_page_in_the_browsers_language(owner_client, owner, name, language):
    html = _page(owner_client, reverse(name), language)
    token = owner.auth_token.key if hasattr(owner, "auth_token") else ""

    assert HTML_LANG.search(html).group(1) == language
    assert SCRIPTS[language].search(_heading(html))
    assert english_words(html.replace(token, "") if token else html,
                         allowed={"owner", "example", "com"}) == set()


@pytest.mark.parametrize("language", LANGUAGES)
def test_it_writes_the_history_and_a_prediction_in_the_language(owner_client, owner, finished_prediction,
                                                                 digit_png, blank_png, language):
    done = finished_prediction(owner, digit_png[0])
    failed = finished_prediction(owner, blank_png)

    history = _page(owner_client, reverse("recognition:history"), language)
    detail = _page(owner_client, reverse("recognition:detail", args=[done.pk]), language)
    blank = _page(owner_client, reverse("recognition:detail", args=[failed.pk]), language)

    for html in (history, detail, blank):
        assert english_words(html, allowed={"owner", "example", "com"}) == set()
    assert SCRIPTS[language].search(re.search(r'data-testid="detail-error">(.*?)</div>', blank, re.S).group(1))
    # The recognised digits stay 0-9 whatever the language.
    assert f'data-testid="detail-answer">{done.answer}</span>' in detail


@pytest.mark.parametrize("language", LANGUAGES)
def test_it_writes_the_staff_dashboard_in_the_language(staff_client, language):
    html = _page(staff_client, reverse("staff-dashboard"), language)

    assert SCRIPTS[language].search(_heading(html))
    assert english_words(html, allowed={"staff"}) == set()


def test_english_stays_the_default(client):
    html = client.get(reverse("home")).content.decode()

    assert HTML_LANG.search(html).group(1) == "en"
    assert "Read handwritten digits in a second" in html


def test_every_page_has_the_language_switcher(owner_client):
    for name in ["home", "about", *SIGNED_IN_PAGES]:
        html = owner_client.get(reverse(name)).content.decode()
        form = re.search(r'<form action="([^"]+)" method="post"[^>]*data-testid="language-switcher">(.*?)</form>',
                         html, re.S)
        assert form and form.group(1) == reverse("set_language"), name
        options = re.findall(r'<option value="([^"]+)"', form.group(2))
        assert options == [code for code, _ in settings.LANGUAGES]
        assert 'name="language"' in form.group(2) and 'name="next"' in form.group(2)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_switcher_sets_the_language_over_the_browsers(client, language):
    response = client.post(reverse("set_language"), {"language": language, "next": reverse("about")},
                           HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 302 and response["Location"] == reverse("about")
    html = client.get(reverse("about"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert HTML_LANG.search(html).group(1) == language
    assert SCRIPTS[language].search(_heading(html))


def test_the_switcher_refuses_a_language_it_does_not_offer(client):
    client.post(reverse("set_language"), {"language": "fr", "next": reverse("about")})

    html = client.get(reverse("about")).content.decode()
    assert HTML_LANG.search(html).group(1) == "en"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_scripts_catalog_follows_the_language(client, language):
    response = client.get(reverse("javascript-catalog"), HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 200
    catalog = json.loads(re.search(r"const newcatalog = (\{.*?\});\n", response.content.decode(), re.S).group(1))
    assert SCRIPTS[language].search(catalog["Read as %(digit)s, %(confidence)s"])
    assert SCRIPTS[language].search(catalog["Recognising…"])


def test_dates_and_numbers_follow_the_language(owner_client, owner):
    owner.date_joined = owner.date_joined.replace(year=2026, month=11, day=30)
    owner.save()

    member_since = {language: re.search(r"<dd[^>]*>([^<]*2026)</dd>",
                                        _page(owner_client, reverse("accounts:profile"), language)).group(1)
                    for language in ["en", "ta", "hi"]}

    assert member_since == {"en": "30 November 2026", "ta": "30 நவம்பர், 2026", "hi": "30 नवंबर 2026"}


def test_numbers_are_grouped_as_each_language_writes_them(settings):
    from django.contrib.humanize.templatetags.humanize import intcomma
    from django.utils import translation

    grouped = {}
    for language in ["en", "ta", "hi"]:
        with translation.override(language):
            grouped[language] = intcomma(1234567)

    assert grouped == {"en": "1,234,567", "ta": "12,34,567", "hi": "12,34,567"}


def test_the_password_reset_mail_is_in_the_language_it_was_asked_in(client, owner, owner_email_verified,
                                                                    mailoutbox):
    client.post(reverse("accounts:password_reset"), {"email": owner.email}, HTTP_ACCEPT_LANGUAGE="hi")

    (mail,) = mailoutbox
    assert mail.subject == "अपना DigitRec पासवर्ड रीसेट करें"
    assert mail.body.startswith("नमस्ते owner,") and "/accounts/" in mail.body


def test_the_admins_own_columns_filters_and_actions_are_translated(staff_client, staff):
    from recognition.models import Prediction

    Prediction.objects.create(owner=staff, image="predictions/x.png", image_sha256="0" * 64, image_bytes=1,
                              source=Prediction.Source.DRAW)  # the actions show once there is a row

    html = staff_client.get(reverse("admin:recognition_prediction_changelist"),
                            HTTP_ACCEPT_LANGUAGE="ta").content.decode()

    for words in ("கணிப்புகள்", "உரிமையாளரின் கருத்து", "உறுதியில்லை", "மாதிரிப் பதிப்பு", "வரைந்தது",
                  "சரிபார்த்ததாகக் குறி", "தேர்ந்தெடுத்த கணிப்புகளை CSV ஆக ஏற்றுமதி செய்"):
        assert words in html, words


@pytest.mark.parametrize("language", LANGUAGES)
def test_signing_up_mails_the_verification_link_and_says_so_in_the_language(client, mailoutbox, language):
    strong = "plum-Orbit-47-lantern"
    response = client.post(reverse("accounts:register"), {
        "username": "newbie", "email": "newbie@example.com", "password1": strong, "password2": strong},
        HTTP_ACCEPT_LANGUAGE=language, follow=True)

    (mail,) = mailoutbox
    assert SCRIPTS[language].search(mail.subject) and english_words(mail.subject) == set()
    body = re.sub(r"http://\S+", "", mail.body)  # the link's own letters
    assert SCRIPTS[language].search(body) and "newbie@example.com" in body
    assert english_words(body, allowed={"newbie", "example", "com"}) == set()
    flash = re.search(r'<div class="alert[^"]*"[^>]*>(.*?newbie@example\.com.*?)</div>',
                      response.content.decode(), re.S).group(1)
    assert SCRIPTS[language].search(flash) and english_words(flash, allowed={"newbie", "example", "com"}) == set()


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_profile_says_the_email_is_not_verified_in_the_language(owner_client, language):
    html = _page(owner_client, reverse("accounts:profile"), language)

    badge = re.search(r'data-testid="email-not-verified">(.*?)</span>', html).group(1)
    notice = re.search(r'<form method="post" action="[^"]*/verify[^"]*".*?</form>', html, re.S).group(0)
    for text in (badge, notice):
        assert SCRIPTS[language].search(text) and english_words(text) == set()


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("token", ["not-a-token", "expired"])
def test_a_refused_verification_link_is_explained_in_the_language(client, owner, monkeypatch, token, language):
    from django.core import signing

    from accounts import verification

    if token == "expired":
        monkeypatch.setattr(signing.TimestampSigner, "timestamp",
                            lambda self: signing.b62_encode(int(time.time()) - 30 * 24 * 3600))
        token = verification.make_token(owner)
        monkeypatch.undo()
    response = client.get(reverse("accounts:email_verify"), {"token": token}, HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 400
    html = response.content.decode()
    assert SCRIPTS[language].search(_heading(html)) and english_words(html) == set()
    reason = re.search(r"</h1>\s*<p>(.*?)</p>", html, re.S).group(1)
    assert SCRIPTS[language].search(reason)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("email", "password", "field"), [
    ("new@example.com", "wrong", "password"),  # the password, asked again, is wrong
    ("owner@example.com", PASSWORD, "email"),  # the address is already the account's
    ("a@" + "ü" * 63 + ".com", PASSWORD, "email"),  # no mail can be sent to it
])
def test_the_email_change_errors_are_in_the_language(owner_client, email, password, field, language):
    response = owner_client.post(reverse("accounts:email_change"), {"email": email, "password": password},
                                 HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 400
    errors = re.findall(rf'data-testid="error-{field}"[^>]*>(.*?)</', response.content.decode(), re.S)
    assert errors and all(SCRIPTS[language].search(error) and english_words(error) == set() for error in errors)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_page_with_too_many_lines_is_explained_in_the_language(owner_client, owner, language):
    from ml.pages import MAX_LINES, TooManyLines
    from recognition.models import Prediction
    from recognition.runs import _outcome_fields

    fields = _outcome_fields(TooManyLines(MAX_LINES + 1), "v1", None)
    prediction = Prediction.objects.create(owner=owner, image="predictions/x.png", image_sha256="0" * 64,
                                           image_bytes=1, source=Prediction.Source.UPLOAD,
                                           mode=Prediction.Mode.PAGE, **fields)

    detail = _page(owner_client, reverse("recognition:detail", args=[prediction.pk]), language)
    error = re.search(r'data-testid="detail-error">(.*?)</div>', detail, re.S).group(1)
    api = owner_client.get(f"/api/v1/predictions/{prediction.pk}/", HTTP_ACCEPT_LANGUAGE=language).json()

    for text in (error, api["error"]):
        assert SCRIPTS[language].search(text) and english_words(text) == set()
        assert str(MAX_LINES + 1) in text and str(MAX_LINES) in text  # the numbers, 0-9
    english = owner_client.get(f"/api/v1/predictions/{prediction.pk}/", HTTP_ACCEPT_LANGUAGE="en").json()
    assert english["error"] == str(TooManyLines(MAX_LINES + 1))
