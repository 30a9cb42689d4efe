"""Production: the default of config.wsgi and config.celery. Secrets and hosts come from the environment.

Refuses to start without DJANGO_SECRET_KEY, and with DEBUG on while any allowed host is not loopback.
HTTPS is expected at a proxy in front: HSTS, the redirect to HTTPS and the header by which the proxy
says a request came over HTTPS are read from the environment (the proxy must overwrite that header,
never pass on a client's).
"""

import ipaddress
import os

from django.core.exceptions import ImproperlyConfigured

from config.settings.base import *  # noqa: F403
from config.settings.base import ALLOWED_HOSTS, env_bool, env_int

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY or SECRET_KEY.startswith("winnow-insecure-"):  # unset, or the public development key
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is not set (or is the public development key): production settings "
        "(config.settings.production, the default of config.wsgi and config.celery) need a long random secret, e.g. "
        "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`. "
        "For local development use DJANGO_SETTINGS_MODULE=config.settings.local."
    )


def _is_loopback(host: str) -> bool:
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # a domain name, a ".example.com" pattern or "*"


DEBUG = env_bool("DJANGO_DEBUG", False)
if DEBUG and not all(_is_loopback(host) for host in ALLOWED_HOSTS):
    raise ImproperlyConfigured(
        f"DJANGO_DEBUG is on with non-loopback DJANGO_ALLOWED_HOSTS {ALLOWED_HOSTS}: DEBUG pages expose settings "
        "and tracebacks, so production settings allow it only on 127.0.0.1/localhost."
    )

SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", True)
# The request header (as sent, e.g. X-Forwarded-Proto) whose value "https" marks a request that reached the
# proxy over HTTPS; empty: no proxy, Django sees the scheme itself.
_proxy_ssl_header = os.environ.get("DJANGO_SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto").strip()
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https") if _proxy_ssl_header else None
)

# The OpenAPI schema and Swagger UI need a signed-in user unless WINNOW_API_DOCS_PUBLIC=1.
API_DOCS_PUBLIC = env_bool("WINNOW_API_DOCS_PUBLIC", False)
