"""WSGI entry point, served by granian (`make run`, `make stack`); each worker process
imports it."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "digitrec.settings")

application = get_wsgi_application()

from recognition import transport  # noqa: E402 - needs the apps loaded above

transport.warm_up()  # the embedded mode's model, loaded in the background
