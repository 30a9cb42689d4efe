# Over 300 lines: every setting read from the environment in one file, as Django expects, so an operator sees them
# all.
"""Settings shared by every mode, read from the environment.

With nothing set, Winnow runs embedded: SQLite under var/, a Celery broker on the local
filesystem and stored files under var/media. DATABASE_URL and CELERY_BROKER_URL switch to PostgreSQL
and Redis/RabbitMQ, WINNOW_STORAGE=s3 to an S3-compatible object store.
"""

import os
import re
from pathlib import Path
from typing import Any

import dj_database_url
import plotly
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("WINNOW_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value in (None, "") else int(value)


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "winnow-insecure-development-key-change-me")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = [h for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # Before staticfiles: runserver (make run) serves static files through WhiteNoise too, with its cache headers.
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "core",
    "jobs",
    "curation",
    "curation.embeddings",
    "curation.pruning",
    "curation.exports",
    "curation.review",
    "curation.synthetic",
    "curation.masks",
    "curation.deletion",
    "robustness",
    "robustness.evaluation",
    "robustness.reports",
    "explain",
    "explain.spurious",
    "explain.slices",
    "frontend",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

# The session user with their roles in one statement (ModelBackend's logins and checks otherwise).
AUTHENTICATION_BACKENDS = ["core.session_auth.RolesModelBackend"]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # config/templates overrides installed apps' templates (the admin's base_site.html).
        "DIRS": [BASE_DIR / "config" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.roles",
                "core.context_processors.plotly_js",
            ],
        },
    },
]

VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.config(
        env="DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'winnow.sqlite3'}", conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while the worker writes; the timeout rides out short write locks.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Failed logins (login page and /api/auth/token/ together) are counted per client IP and per username in
# the "login_throttle" cache; past either limit within the window, logins are refused (429) until it ends.
LOGIN_FAILURE_LIMIT_PER_USERNAME = env_int("WINNOW_LOGIN_FAILURES_PER_USERNAME", 10)
LOGIN_FAILURE_LIMIT_PER_IP = env_int("WINNOW_LOGIN_FAILURES_PER_IP", 50)
LOGIN_FAILURE_WINDOW_SECONDS = env_int("WINNOW_LOGIN_FAILURE_WINDOW_SECONDS", 15 * 60)
# Proxies in front that append to X-Forwarded-For; 0: the client IP is REMOTE_ADDR (the header is ignored).
NUM_PROXIES = env_int("WINNOW_NUM_PROXIES", 0)
# The OpenAPI schema and Swagger UI are public here; production settings put them behind login.
API_DOCS_PUBLIC = env_bool("WINNOW_API_DOCS_PUBLIC", True)

# The default cache is per process (version statistics); counters that must hold across web processes
# live in "login_throttle": Redis at WINNOW_CACHE_URL, else files under var/ (processes of one machine).
_CACHE_URL = os.environ.get("WINNOW_CACHE_URL", "")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "login_throttle": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _CACHE_URL, "KEY_PREFIX": "winnow"}
        if _CACHE_URL
        else {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache" / "login_throttle"),
            # This backend's incr() rewrites the entry with the default timeout: keep that the window.
            "TIMEOUT": LOGIN_FAILURE_WINDOW_SECONDS,
        }
    ),
}
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "frontend:dataset_list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
# plotly.js is served from the installed plotly package (no CDN: the app works offline), under a folder named for
# the package's version (templates take it from the plotly_js context variable), so browsers may cache it for a
# year (WHITENOISE_IMMUTABLE_FILE_TEST below): its 4.8 MB are fetched once, not revalidated on every chart page.
PLOTLY_STATIC_DIR = f"plotly/{plotly.__version__}"
STATICFILES_DIRS = [(PLOTLY_STATIC_DIR, str(Path(plotly.__file__).parent / "package_data"))]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("WINNOW_MEDIA_ROOT", VAR_DIR / "media"))


def default_storage_config() -> dict[str, Any]:
    """Where stored files live (images, embeddings, checkpoints, exports, explanation maps).

    WINNOW_STORAGE=local (the embedded default): files under MEDIA_ROOT. WINNOW_STORAGE=s3: an S3-compatible
    object store (AWS, MinIO, Ceph; moto's server in the tests) through django-storages and boto3:
    WINNOW_S3_BUCKET (required), WINNOW_S3_ENDPOINT_URL (empty: AWS), WINNOW_S3_REGION, WINNOW_S3_PREFIX (a
    folder in the bucket). Credentials come from boto3's usual sources: AWS_ACCESS_KEY_ID and
    AWS_SECRET_ACCESS_KEY, a profile, an instance role. Files of WINNOW_S3_MULTIPART_CHUNK_BYTES (16 MiB) or
    more go up in parts of that size, WINNOW_S3_MAX_CONCURRENCY at a time.
    """
    kind = os.environ.get("WINNOW_STORAGE", "local").strip().lower() or "local"
    if kind == "local":
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    if kind != "s3":
        raise ImproperlyConfigured(f"WINNOW_STORAGE is {kind!r}: use local (the default) or s3")
    bucket = os.environ.get("WINNOW_S3_BUCKET", "").strip()
    if not bucket:
        raise ImproperlyConfigured("WINNOW_STORAGE=s3 needs WINNOW_S3_BUCKET (and WINNOW_S3_ENDPOINT_URL off AWS)")
    from boto3.s3.transfer import TransferConfig  # noqa: PLC0415 - boto3 loads only where object storage is configured

    part = env_int("WINNOW_S3_MULTIPART_CHUNK_BYTES", 16 * 1024**2)
    transfer = TransferConfig(
        multipart_threshold=part, multipart_chunksize=part, max_concurrency=env_int("WINNOW_S3_MAX_CONCURRENCY", 8)
    )
    options = {
        "bucket_name": bucket,
        "endpoint_url": os.environ.get("WINNOW_S3_ENDPOINT_URL") or None,
        "region_name": os.environ.get("WINNOW_S3_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        "location": os.environ.get("WINNOW_S3_PREFIX", "").strip("/"),
        "transfer_config": transfer,
    }
    return {"BACKEND": "core.s3.S3ObjectStorage", "OPTIONS": options}


STORAGES = {
    "default": default_storage_config(),
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Object storage only: each machine keeps local copies of stored files that readers open by path (memory-mapped
# embeddings, FAISS indexes, checkpoints) here, checksum-verified, least recently used deleted past the limit.
STORAGE_CACHE_DIR = os.environ.get("WINNOW_CACHE_DIR") or str(VAR_DIR / "cache" / "storage")
STORAGE_CACHE_MAX_BYTES = env_int("WINNOW_CACHE_MAX_BYTES", 20 * 1024**3)
WHITENOISE_USE_FINDERS = True
WHITENOISE_IMMUTABLE_FILE_TEST = "^" + re.escape(f"{STATIC_URL}{PLOTLY_STATIC_DIR}/")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.tokens.PasswordBoundTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api_errors.structured_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "core.pagination.IdCursorPagination",
    "PAGE_SIZE": 50,
    "NUM_PROXIES": NUM_PROXIES,
    # Expensive endpoints (views with `throttle_scope`) are rate limited per user, i.e. per token.
    "DEFAULT_THROTTLE_RATES": {
        "exports": os.environ.get("WINNOW_THROTTLE_EXPORTS", "30/hour"),
        "imports": os.environ.get("WINNOW_THROTTLE_IMPORTS", "30/hour"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Winnow API",
    "DESCRIPTION": "Image-dataset curation and robustness analysis.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["core.permissions.ApiDocsAccess"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Named enums where two choice sets share a field name (import and export formats).
    "ENUM_NAME_OVERRIDES": {
        "ExportFormatEnum": "curation.exports.models.ExportFormat",
        "ImportFormatEnum": "curation.services.imports.IMPORT_FORMATS",
        "CamMethodEnum": "explain.models.CamMethod",
    },
}

# Celery: the embedded default is kombu's filesystem transport under var/, which needs no server.
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# A message survives its worker being killed: it is acknowledged only after the task returns.
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 3600)

# Jobs: a running job whose heartbeat is older than this is considered orphaned by a dead worker.
JOB_HEARTBEAT_TIMEOUT = env_int("WINNOW_JOB_HEARTBEAT_TIMEOUT", 120)
JOB_MAX_ATTEMPTS = env_int("WINNOW_JOB_MAX_ATTEMPTS", 2)
JOB_REAP_INTERVAL = env_int("WINNOW_JOB_REAP_INTERVAL", 30)
# A queued job whose message was sent this long ago is sent again (a broker restarted without
# persistence loses messages; the Job row is the source of truth and a duplicate is harmless).
JOB_QUEUED_RESEND_AFTER = env_int("WINNOW_JOB_QUEUED_RESEND_AFTER", 600)
# Set on a worker started with a GPU queue on a machine with CUDA (see `make worker-gpu`).
WINNOW_GPU_WORKERS = env_bool("WINNOW_GPU_WORKERS", False)

# Import limits against hostile input.
IMPORT_MAX_IMAGE_PIXELS = env_int("WINNOW_IMPORT_MAX_IMAGE_PIXELS", 50_000_000)
IMPORT_MAX_FILE_BYTES = env_int("WINNOW_IMPORT_MAX_FILE_BYTES", 100 * 1024 * 1024)
IMPORT_MAX_ARCHIVE_BYTES = env_int("WINNOW_IMPORT_MAX_ARCHIVE_BYTES", 20 * 1024**3)
IMPORT_MAX_COMPRESSION_RATIO = env_int("WINNOW_IMPORT_MAX_COMPRESSION_RATIO", 200)
IMPORT_MAX_ARCHIVE_MEMBERS = env_int("WINNOW_IMPORT_MAX_ARCHIVE_MEMBERS", 2_000_000)
# Decoded pixels held at once by the decode threads of one process (one image over it decodes alone).
IMPORT_DECODE_BUDGET_BYTES = env_int("WINNOW_IMPORT_DECODE_BUDGET_BYTES", 512 * 1024**2)
# Folders under which admins may import server paths through the API and pages (os.pathsep-separated);
# empty: any path. The command line is not restricted.
IMPORT_SERVER_ROOTS = [p for p in os.environ.get("WINNOW_IMPORT_SERVER_ROOTS", "").split(os.pathsep) if p]
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
THUMBNAIL_SIZE = env_int("WINNOW_THUMBNAIL_SIZE", 160)

DEMO_DATASET_NAME = os.environ.get("WINNOW_DEMO_DATASET_NAME", "demo")

# Embedding sets up to this many rows get an exact flat FAISS index; larger ones an IVF index.
EMBEDDING_FLAT_INDEX_MAX = env_int("WINNOW_EMBEDDING_FLAT_INDEX_MAX", 200_000)

# Exports: downloads are refused once this old (the files may then be purged); files are written to a
# local temporary file in this folder, then stored through the storage API (moved, on the same disk).
EXPORT_RETENTION_HOURS = env_int("WINNOW_EXPORT_RETENTION_HOURS", 7 * 24)
EXPORT_TEMP_DIR = os.environ.get("WINNOW_EXPORT_TEMP_DIR") or str(VAR_DIR / "tmp")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("WINNOW_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "faiss.loader": {"level": "WARNING"}},
}

# --- Production hardening: job stalls, upload cap, server-path and weights limits ---
# A running job that reports no progress or log line for this long is failed by the reaper as stalled;
# WINNOW_JOB_STALL_TIMEOUTS="kind=seconds,..." sets it per job kind (a kind may also declare its own).
JOB_STALL_TIMEOUT = env_int("WINNOW_JOB_STALL_TIMEOUT", 3 * 3600)
JOB_STALL_TIMEOUTS = {
    kind.strip(): int(seconds)
    for kind, _, seconds in (
        item.partition("=") for item in os.environ.get("WINNOW_JOB_STALL_TIMEOUTS", "").split(",") if "=" in item
    )
}
# Largest zip archive accepted as an upload (pages and API); a bigger one is refused before it is stored.
IMPORT_UPLOAD_MAX_BYTES = env_int("WINNOW_IMPORT_UPLOAD_MAX_BYTES", 4 * 1024**3)
# With no WINNOW_IMPORT_SERVER_ROOTS, server-path imports from the pages and API are allowed anywhere
# (development) or refused (production settings, or WINNOW_IMPORT_SERVER_ROOTS_REQUIRED=1).
IMPORT_SERVER_ROOTS_REQUIRED = env_bool(
    "WINNOW_IMPORT_SERVER_ROOTS_REQUIRED", os.environ.get("DJANGO_SETTINGS_MODULE", "").endswith(".production")
)
# Local weights files/folders named in encoder and generator specs: admins only, and only under these
# folders (os.pathsep-separated; empty: no local path is accepted from the pages and API).
WEIGHTS_ROOTS = [p for p in os.environ.get("WINNOW_WEIGHTS_ROOTS", "").split(os.pathsep) if p]
# Hub ids (pretrained tags, Hugging Face repos) a spec may name, comma-separated; unset: the documented
# defaults (curation.ml.weights_policy.DEFAULT_HUB_ALLOWED).
WEIGHTS_HUB_ALLOWED = [h.strip() for h in os.environ.get("WINNOW_WEIGHTS_HUB_ALLOWED", "").split(",") if h.strip()]
