from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from digitrec.health import readiness


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "digitrec/home.html")


def about(request: HttpRequest) -> HttpResponse:
    return render(request, "digitrec/about.html")


def contact(request: HttpRequest) -> HttpResponse:
    return render(request, "digitrec/contact.html", {"contact_email": settings.CONTACT_EMAIL})


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when this process can serve recognitions, 503 with the failing check otherwise."""
    report = readiness()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
