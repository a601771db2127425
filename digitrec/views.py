from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.cache import cache_control, never_cache
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


@require_GET
@cache_control(max_age=86400, public=True)
def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico, which browsers ask for on pages without an icon link (admin, API docs)."""
    return HttpResponseRedirect(static("favicon.svg"))
