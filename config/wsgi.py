import os

from django.core.wsgi import get_wsgi_application

# Production unless told otherwise: these settings refuse to start without DJANGO_SECRET_KEY.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
application = get_wsgi_application()
