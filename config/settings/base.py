"""Settings shared by every environment.

Every connection detail and secret comes from the environment; this module holds no defaults for
them (``dev``/``test`` supply local ones, ``prod`` none). See ``.env.example`` for the variables.
"""

from core.celery_app.config import BROKER_DB, RESULTS_DB, redis_url_with_db
from core.db.config import database_config

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
    "django_celery_beat",
    "core",
    "core.outbox",
    "api.v1.base_models.user",
    "api.v1.base_models.organization",
    "api.v1.catalog.products",
    "api.v1.sales.orders",
    "api.v1.exports",
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
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

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
METRICS_COLLECTOR_MODULES = ["core.metrics.collectors", "core.celery_app.metrics"]
# Modules whose import registers readiness checks (core.health.registry.register).
HEALTH_CHECK_MODULES = ["core.health.checks", "core.celery_app.health"]
HEALTH_CHECK_TIMEOUT = env.float("HEALTH_CHECK_TIMEOUT", default=1.0)

# --- Celery (docs/celery.md explains every choice) ---
# The broker and the result backend get their own Redis databases (see core.celery_app.config),
# derived from REDIS_URL unless given explicitly.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=redis_url_with_db(REDIS_URL, BROKER_DB))
CELERY_RESULT_BACKEND = env.str(
    "CELERY_RESULT_BACKEND", default=redis_url_with_db(REDIS_URL, RESULTS_DB)
)
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
# django-celery-beat's DatabaseScheduler (schedules in the admin) + a liveness heartbeat.
CELERY_BEAT_SCHEDULER = "core.celery_app.beat:DatabaseScheduler"
CELERY_IMPORTS = ["core.db.tasks"]
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_DEFAULT_QUEUE", default="celery")
CELERY_MONITORED_QUEUES = env.list("CELERY_MONITORED_QUEUES", default=[])
# Dev only: run tasks inline in the caller (never in prod: no retries, no isolation).
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
# At-least-once delivery: ack after the task ran, redeliver when its worker dies, and let a
# worker hold only the message it is working on.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=25 * 60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=30 * 60)
# Unacked messages are redelivered after this many seconds: keep it above the longest task
# (CELERY_TASK_TIME_LIMIT) and the longest ETA/countdown (retry backoff caps at 600 s).
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=2 * 3600)
_celery_keyprefix = env.str("CELERY_KEY_PREFIX", default="")
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    "socket_connect_timeout": 2,
    "socket_keepalive": True,
    "global_keyprefix": _celery_keyprefix,
}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"global_keyprefix": _celery_keyprefix}
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 3,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}
# Task state lives in the database (e.g. Export.status); results are opt-in per task.
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_WORKER_MAX_TASKS_PER_CHILD = env.int("CELERY_WORKER_MAX_TASKS_PER_CHILD", default=1000)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Keep PostgreSQL connections across tasks (CONN_MAX_AGE applies, as for requests: see
# core.celery_app.signals); Celery's fixup would otherwise reconnect for every task.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_WORKER_SEND_TASK_EVENTS = False
# Seconds a worker process trusts that an organization exists before checking again (0: every
# task). Permission re-checks are never cached. See core.celery_app.base._OrganizationCache.
CELERY_ORGANIZATION_CHECK_TTL = env.float("CELERY_ORGANIZATION_CHECK_TTL", default=5.0)
# Monitoring keys (counters, heartbeats) in the broker's database; see core.celery_app.monitor.
CELERY_MONITOR_KEY_PREFIX = "erp:celery:"
CELERY_MONITOR_KEY_TTL = None
CELERY_WORKER_HEARTBEAT_MAX_AGE = env.int("CELERY_WORKER_HEARTBEAT_MAX_AGE", default=15)
CELERY_BEAT_HEARTBEAT_MAX_AGE = env.int("CELERY_BEAT_HEARTBEAT_MAX_AGE", default=60)

# --- Outbox (core.outbox) ---
OUTBOX_RELAY_INTERVAL = env.int("OUTBOX_RELAY_INTERVAL", default=10)  # seconds, beat schedule
OUTBOX_RELAY_BATCH_SIZE = env.int("OUTBOX_RELAY_BATCH_SIZE", default=200)
# A new message belongs to its on-commit publish for this long before the periodic relay may
# take it (only matters when the process died between commit and publish).
OUTBOX_CLAIM_SECONDS = env.int("OUTBOX_CLAIM_SECONDS", default=30)
OUTBOX_RETRY_MAX_DELAY = env.int("OUTBOX_RETRY_MAX_DELAY", default=300)  # seconds
OUTBOX_KEEP_SENT_DAYS = env.int("OUTBOX_KEEP_SENT_DAYS", default=7)
OUTBOX_BACKLOG_MAX_AGE = env.int("OUTBOX_BACKLOG_MAX_AGE", default=300)  # health: degraded above

# --- Exports (api.v1.exports) ---
EXPORT_TTL_HOURS = env.int("EXPORT_TTL_HOURS", default=7 * 24)
EXPORT_CHUNK_SIZE = env.int("EXPORT_CHUNK_SIZE", default=2000)

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
        "celery": {"level": LOG_LEVEL},
    },
}
