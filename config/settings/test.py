"""Tests: PostgreSQL and Redis on this machine unless DATABASE_URL / CELERY_BROKER_URL say otherwise."""

import os
from pathlib import Path

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/winnow")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")

from config.settings.base import *  # noqa: F403
from config.settings.base import VAR_DIR, default_storage_config

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# A worker started by a test gets the test's media root through WINNOW_MEDIA_ROOT (tests/worker.py).
MEDIA_ROOT = Path(os.environ.get("WINNOW_MEDIA_ROOT", VAR_DIR / "test-media"))
# Local files unless WINNOW_STORAGE=s3 (workers that tests start on the S3 test server: tests/s3).
STORAGES = {
    "default": default_storage_config(),
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Both caches in this process, in one store (the same LocMem location), so a test's cache.clear() also
# forgets failed-login counts; tests of the shared caches run other processes with other settings.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "login_throttle": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
}
