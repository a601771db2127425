from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularSwaggerSplitView

from digitrec import views
from recognition import staff_views

# The admin's app list beside every page takes a fifth of a 1280 px screen from the
# predictions list, whose columns then scroll sideways; the breadcrumbs lead back instead.
admin.site.enable_nav_sidebar = False

urlpatterns = [
    path("", views.home, name="home"),
    path("about/", views.about, name="about"),
    path("contact/", views.contact, name="contact"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("accounts/", include("accounts.urls")),
    # The language switcher posts to i18n/setlang/ (set_language); the pages' scripts read
    # their strings from jsi18n/, loaded as a file (no inline script, for the CSP).
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("admin/", admin.site.urls),
    path("staff/", staff_views.staff_dashboard, name="staff-dashboard"),
    # The split view serves Swagger UI's start-up script as a file: no inline script (CSP).
    path("api/v1/docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="api-docs"),
    path("api/v1/", include("digitrec.api")),  # after the docs: it ends in a JSON 404 for any other address
    path("", include("recognition.urls")),
]
