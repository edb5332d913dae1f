"""Settings shared by every environment.

Every connection detail and secret comes from the environment; this module holds no defaults for
them (``dev``/``test`` supply local ones, ``prod`` none). See ``.env.example`` for the variables.
"""

from core.db.config import database_config
from core.storage.config import default_storage_config

from ._env import BASE_DIR, env

SECRET_KEY = env.str("SECRET_KEY")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
APP_VERSION = "0.1.0"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "core",
    "api.v1.base_models.user",
    "api.v1.base_models.organization",
    "api.v1.catalog.products",
    "api.v1.sales.orders",
    "api.v1.files",
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
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database (PostgreSQL only; core.checks refuses anything else or a server older than 14) ---
DATABASES = {"default": database_config(env)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
MINIMUM_POSTGRES_VERSION = 14

AUTH_USER_MODEL = "users.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
MEDIA_URL = env.str("MEDIA_URL", default="/media/")
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
# STORAGE_BACKEND=local (FileSystemStorage under MEDIA_ROOT) or s3 (django-storages, AWS_* vars).
STORAGES = {
    "default": default_storage_config(env),
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Uploaded files (api.v1.files; docs/storage.md) ---
# Largest accepted upload in bytes, enforced while the body streams in (413 beyond it).
MAX_UPLOAD_SIZE = env.int("MAX_UPLOAD_SIZE", default=10 * 1024 * 1024)
# Types accepted, as detected from the content (never the extension or the client's header).
ALLOWED_MIME_TYPES = env.list(
    "ALLOWED_MIME_TYPES",
    default=[
        "application/pdf",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "text/csv",
        "text/plain",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ],
)
# Uploads above FILE_UPLOAD_MAX_MEMORY_SIZE are spooled here (default: the system temp dir). On the
# same filesystem as MEDIA_ROOT, storing the upload is a rename instead of a copy.
FILE_UPLOAD_TEMP_DIR = env.str("FILE_UPLOAD_TEMP_DIR", default="") or None
# Local storage behind nginx: the `internal` location that serves MEDIA_ROOT (e.g.
# /protected-media/). Empty: Django streams the file itself. See deploy/nginx-files.conf.
FILES_X_ACCEL_REDIRECT_PREFIX = env.str("FILES_X_ACCEL_REDIRECT_PREFIX", default="")
# Virus scanning: "" (off: files are downloadable at once), "clamd", or a dotted path to a
# api.v1.files.scanning.Scanner subclass. CLAMD_ADDRESS: tcp://host:port or unix:///path.
FILES_SCANNER = env.str("FILES_SCANNER", default="")
CLAMD_ADDRESS = env.str("CLAMD_ADDRESS", default="tcp://127.0.0.1:3310")
CLAMD_TIMEOUT = env.float("CLAMD_TIMEOUT", default=30.0)
# Orphan cleanup leaves objects/rows younger than this alone (uploads in flight).
FILES_ORPHAN_GRACE_SECONDS = env.int("FILES_ORPHAN_GRACE_SECONDS", default=3600)
# Readiness reports the storage as degraded below this share of free disk (local storage).
FILES_DISK_FREE_MIN_PERCENT = env.float("FILES_DISK_FREE_MIN_PERCENT", default=10.0)

# --- Redis (caches); REDIS_URL has no default here ---
REDIS_URL = env.str("REDIS_URL")
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
    }
}

# --- API ---
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["core.api.renderers.FastJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "core.api.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ERP Core API",
    "DESCRIPTION": (
        "Platform core of the ERP. Authenticate with `POST /api/v1/auth/token/` and send "
        "`Authorization: Token <token>`. Organization-scoped endpoints read the "
        "`X-Organization: <slug>` header (optional when you belong to exactly one organization)."
    ),
    "VERSION": APP_VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "TokenAuth": {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "`Token <key>` from POST /api/v1/auth/token/",
            }
        }
    },
}

# --- Monitoring ---
# /metrics is open unless METRICS_TOKEN is set (then: Authorization: Bearer <token>).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Modules whose import registers Prometheus collectors (core.metrics.registry.register_collector).
METRICS_COLLECTOR_MODULES = ["core.metrics.collectors", "api.v1.files.metrics"]
# Modules whose import registers readiness checks (core.health.registry.register).
HEALTH_CHECK_MODULES = ["core.health.checks", "api.v1.files.health"]
HEALTH_CHECK_TIMEOUT = env.float("HEALTH_CHECK_TIMEOUT", default=1.0)

# Serve the unauthenticated "bare" DRF list used as the benchmark baseline (bench/ only).
BENCH_ENDPOINTS = env.bool("BENCH_ENDPOINTS", default=False)

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
    },
}
