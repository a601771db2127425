"""URL confs for page tests, independent of the routes other apps add over time."""
from django.urls import include, path

from digitrec import urls, views


def broken(request):
    raise RuntimeError("secret internals that must not leak")


# The project's own routes: no recognition pages and no API docs.
bare = [
    p
    for p in urls.urlpatterns
    if getattr(p, "namespace", None) != "recognition" and getattr(p, "name", None) != "api-docs"
]

recognition_stand_ins = (
    [
        path("draw/", views.home, name="draw"),
        path("upload/", views.home, name="upload"),
        path("history/", views.home, name="history"),
    ],
    "recognition",
)

urlpatterns = [
    *bare,
    path("stand-in/", include(recognition_stand_ins)),
    path("api/v1/docs/", views.home, name="api-docs"),
    path("broken/", broken),
]
