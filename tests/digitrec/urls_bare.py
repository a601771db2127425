"""The project's own routes only, as before any recognition page or API docs exist."""
from tests.digitrec.urls import bare as urlpatterns

__all__ = ["urlpatterns"]
