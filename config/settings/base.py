"""Settings shared by every environment.

Every connection detail and secret comes from the environment; this module holds no defaults for
them (``dev``/``test`` supply local ones, ``prod`` none). See ``.env.example`` for the variables.
"""

from datetime import timedelta

import environ
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

from core.db.config import database_config, owner_database_config, replica_databases
from core.redis.config import (
    REDIS_DATABASES,
    cache_config,
    parse_sentinels,
    sentinel_cache_config,
    sentinel_kwargs,
    sentinel_url,
    url_with_db,
)
from core.storage.config import default_storage_config

from ._env import BASE_DIR, email_settings, env

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
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "corsheaders",
    "csp",
    "core",
    "core.outbox",
    "core.audit",
    "api.v1.base_models.user",
    "api.v1.base_models.organization",
    "api.v1.catalog.products",
    "api.v1.sales.orders",
    "api.v1.sales.invoices",
    "api.v1.files",
    "api.v1.exports",
]

# The tenancy models core works with, named like AUTH_USER_MODEL (core never imports api/).
ERP_ORGANIZATION_MODEL = "organizations.Organization"
ERP_MEMBERSHIP_MODEL = "organizations.Membership"
ERP_ROLE_MODEL = "organizations.Role"

MIDDLEWARE = [
    # First: every response (also those of the middlewares below) carries X-Request-ID, and
    # every log line of the request its id (core.requestid).
    "core.requestid.RequestIdMiddleware",
    # Request counter and latency histogram by route pattern for /metrics (core.metrics.requests).
    "core.metrics.requests.RequestMetricsMiddleware",
    # Request id + who is acting, for the audit triggers (core/audit/context.py).
    "core.audit.context.AuditContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before whitenoise and CommonMiddleware, which can answer without the CORS headers.
    "corsheaders.middleware.CorsMiddleware",
    # X-Environment on every response when ERP_ENVIRONMENT is set (staging); else not loaded.
    "core.environment.EnvironmentHeaderMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.db.replicas.ReplicaReadsMiddleware",  # inert without DATABASE_REPLICA_URLS
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Content-Security-Policy header when CONTENT_SECURITY_POLICY is set (prod; CSP_ENABLED).
    "csp.middleware.CSPMiddleware",
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
# The schema owner: `migrate` and `safe_migrate` connect as it when DATABASE_OWNER_URL is set
# (core.db.owner); every other process keeps the application role of DATABASE_URL.
DATABASE_OWNER = owner_database_config(env)
# Read replicas (docs/database.md#read-replicas): DATABASE_REPLICA_URLS adds replica_1, replica_2...
# (each URL parsed like DATABASE_URL); core.db.replicas routes read-only API requests to them,
# with read-your-writes. Without replicas neither the router nor the middleware does anything.
DATABASE_REPLICA_URLS = env.list("DATABASE_REPLICA_URLS", default=[])
DATABASES.update(replica_databases(DATABASE_REPLICA_URLS, env))
DATABASE_ROUTERS = ["core.db.replicas.ReplicaRouter"] if DATABASE_REPLICA_URLS else []
# A replica further behind than this (seconds) gets no reads until it catches up.
DATABASE_REPLICA_MAX_LAG = env.float("DATABASE_REPLICA_MAX_LAG", default=5.0)
# An unreachable replica is left alone this long (seconds, per process) before the next try.
DATABASE_REPLICA_RETRY_AFTER = env.float("DATABASE_REPLICA_RETRY_AFTER", default=10.0)
# Each process asks its replicas for their position and lag at most this often (seconds).
DATABASE_REPLICA_CHECK_INTERVAL = env.float("DATABASE_REPLICA_CHECK_INTERVAL", default=1.0)
# How long a user's writes pin their reads to replicas that have replayed them (seconds).
DATABASE_REPLICA_STICKY_SECONDS = env.int("DATABASE_REPLICA_STICKY_SECONDS", default=60)
# GET/HEAD requests under these paths may read from a replica.
DATABASE_REPLICA_PATHS = env.list("DATABASE_REPLICA_PATHS", default=["/api/"])
# The cache alias holding read-your-writes positions: one that raises when Redis is down (then
# reads go to the primary), never the error-swallowing "default".
DATABASE_REPLICA_CACHE = "permissions"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Transaction-ID age (age(datfrozenxid), wraparound at ~2.1e9) above which /health/ready/ is
# degraded (docs/database.md, "Wraparound and vacuum health").
DATABASE_XID_AGE_WARN = env.int("DATABASE_XID_AGE_WARN", default=1_200_000_000)
# Seconds in the Retry-After of the 503 answered while the database is unreachable.
DB_OUTAGE_RETRY_AFTER = env.int("DB_OUTAGE_RETRY_AFTER", default=5)
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

# --- Redis (caches, Celery broker); REDIS_URL has no default here ---
# One REDIS_URL configures everything: each cache alias and the broker get their own logical
# database of that server (core.redis.config.REDIS_DATABASES); REDIS_<USE>_URL overrides one.
# Password and TLS come with the URL (redis://:pw@host:6379, rediss://...). See docs/caching.md.
# Redis Sentinel instead (docs/caching.md "Redis Sentinel"): REDIS_SENTINELS=h1:26379,h2:26379,...
# and REDIS_SENTINEL_MASTER=<name> put every cache alias, the broker and the results on the
# master those sentinels name, with the same database numbers; REDIS_URL is then not needed.
REDIS_SENTINELS = parse_sentinels(env.str("REDIS_SENTINELS", default=""))
REDIS_SENTINEL_MASTER = env.str("REDIS_SENTINEL_MASTER", default="")
if REDIS_SENTINELS and not REDIS_SENTINEL_MASTER:
    raise ImproperlyConfigured(
        "REDIS_SENTINELS is set but REDIS_SENTINEL_MASTER is not: set it to the master's name "
        "in the sentinels' configuration (sentinel monitor <name> ...)."
    )
# Password of the sentinels themselves (requirepass in sentinel.conf), and of the Redis nodes.
REDIS_SENTINEL_PASSWORD = env.str("REDIS_SENTINEL_PASSWORD", default="")
REDIS_PASSWORD = env.str("REDIS_PASSWORD", default="")
REDIS_URL = env.str("REDIS_URL", default="" if REDIS_SENTINELS else environ.Env.NOTSET)


def _redis_url(variable: str, use: str) -> str:
    """``variable`` if set (and not blank), else REDIS_URL on the use's own database (with
    Sentinel: the sentinels' ``sentinel://`` URL on that database, for the broker/results)."""
    if explicit := env.str(variable, default=""):
        return explicit
    if REDIS_SENTINELS:
        return sentinel_url(REDIS_SENTINELS, REDIS_DATABASES[use], REDIS_PASSWORD)
    return url_with_db(REDIS_URL, REDIS_DATABASES[use])


REDIS_BROKER_URL = _redis_url("REDIS_BROKER_URL", "celery_broker")
REDIS_RESULT_URL = _redis_url("REDIS_RESULT_URL", "celery_results")
# Every key is prefixed per environment (prod/staging sharing a server never collide).
CACHE_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", default="erp")
# Small timeouts: a dead Redis must cost milliseconds. After a failure the cache is bypassed for
# CACHE_RETRY_AFTER seconds (per process), then retried: recovery needs no restart.
REDIS_SOCKET_CONNECT_TIMEOUT = env.float("REDIS_SOCKET_CONNECT_TIMEOUT", default=0.1)
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=0.2)
CACHE_RETRY_AFTER = env.float("CACHE_RETRY_AFTER", default=2.0)
_redis_timeouts = {
    "key_prefix": CACHE_KEY_PREFIX,
    "connect_timeout": REDIS_SOCKET_CONNECT_TIMEOUT,
    "socket_timeout": REDIS_SOCKET_TIMEOUT,
}
REDIS_SENTINEL_KWARGS = sentinel_kwargs(
    password=REDIS_SENTINEL_PASSWORD,
    connect_timeout=REDIS_SOCKET_CONNECT_TIMEOUT,
    socket_timeout=REDIS_SOCKET_TIMEOUT,
)


def _cache(variable: str, alias: str, **options) -> dict:
    """One alias: REDIS_<ALIAS>_URL if set, else the Sentinel master, else REDIS_URL (own db)."""
    options = {**_redis_timeouts, **options}
    if REDIS_SENTINELS and not env.str(variable, default=""):
        return sentinel_cache_config(
            REDIS_SENTINEL_MASTER,
            REDIS_DATABASES[alias],
            sentinels=REDIS_SENTINELS,
            sentinel_kwargs=REDIS_SENTINEL_KWARGS,
            password=REDIS_PASSWORD,
            **options,
        )
    return cache_config(_redis_url(variable, alias), **options)


CACHES = {
    # General-purpose: a plain cache.get()/set() anywhere must not fail while Redis is down.
    "default": _cache(
        "REDIS_CACHE_URL",
        "default",
        timeout=env.int("CACHE_DEFAULT_TIMEOUT", default=300),
        ignore_exceptions=True,
    ),
    "permissions": _cache(
        "REDIS_PERMISSIONS_URL",
        "permissions",
        timeout=env.int("PERMISSION_CACHE_TIMEOUT", default=300),
    ),
    "api_responses": _cache(
        "REDIS_API_RESPONSES_URL",
        "api_responses",
        timeout=env.int("API_RESPONSE_CACHE_TIMEOUT", default=60),
    ),
}
# Switches (the benchmark measures with them off; an operator can too).
PERMISSION_CACHE_ENABLED = env.bool("PERMISSION_CACHE_ENABLED", default=True)
# Cache token -> active user in the same alias (api.v1.base_models.user.authentication).
AUTH_TOKEN_CACHE_ENABLED = env.bool("AUTH_TOKEN_CACHE_ENABLED", default=True)
API_RESPONSE_CACHE_ENABLED = env.bool("API_RESPONSE_CACHE_ENABLED", default=True)
# Hits answered before DRF runs, checked in one Redis round trip (core/api/front_cache.py).
API_RESPONSE_FRONT_CACHE_ENABLED = env.bool("API_RESPONSE_FRONT_CACHE_ENABLED", default=True)
# How long a request that missed waits for another request computing the same response.
API_RESPONSE_CACHE_LOCK_WAIT = env.float("API_RESPONSE_CACHE_LOCK_WAIT", default=2.0)
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True  # the default alias's swallowed errors are logged

# --- API tokens (django-rest-knox; docs/api.md "Authentication") ---
# Each login creates a token valid this many seconds (default 30 days); only its digest is stored.
TOKEN_TTL = env.int("TOKEN_TTL", default=30 * 24 * 3600)
REST_KNOX = {
    "TOKEN_TTL": timedelta(seconds=TOKEN_TTL),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}

# --- Throttling (DRF throttles on the default cache alias; core.api.throttling) ---
# POST /api/v1/auth/token/: failed attempts allowed per username / per client IP in the window,
# then 429 + Retry-After (correct password included) until the oldest failure leaves it.
LOGIN_FAILURES_PER_USERNAME = env.str("LOGIN_FAILURES_PER_USERNAME", default="10/15m")
LOGIN_FAILURES_PER_IP = env.str("LOGIN_FAILURES_PER_IP", default="50/15m")
# Per-user / anonymous API rates (e.g. 1000/h); empty: off (the default).
API_THROTTLE_USER_RATE = env.str("API_THROTTLE_USER_RATE", default="")
API_THROTTLE_ANON_RATE = env.str("API_THROTTLE_ANON_RATE", default="")
# Reverse proxies in front that append to X-Forwarded-For (nginx: 1). 0: the client IP is the
# socket's address, and X-Forwarded-For (which a client can forge) is ignored.
NUM_PROXIES = env.int("NUM_PROXIES", default=0)

# --- API ---
# DRF's browsable API for a logged-in session user in a browser (Accept: text/html; log in at
# /api-auth/login/, pick the organization with ?organization=<slug or id>). JSON stays the
# default renderer, so JSON clients are served exactly as without it (make bench-browsable).
API_BROWSABLE = env.bool("API_BROWSABLE", default=True)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.v1.base_models.user.authentication.CachedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "core.api.renderers.FastJSONRenderer",
        *(["core.api.renderers.BrowsableAPIRenderer"] if API_BROWSABLE else []),
    ],
    "DEFAULT_PARSER_CLASSES": [
        "core.api.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "core.api.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "core.api.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_THROTTLE_CLASSES": [
        *(["core.api.throttling.UserRateThrottle"] if API_THROTTLE_USER_RATE else []),
        *(["core.api.throttling.AnonRateThrottle"] if API_THROTTLE_ANON_RATE else []),
    ],
    "DEFAULT_THROTTLE_RATES": {
        "login_username": LOGIN_FAILURES_PER_USERNAME,
        "login_ip": LOGIN_FAILURES_PER_IP,
        "user": API_THROTTLE_USER_RATE or None,
        "anon": API_THROTTLE_ANON_RATE or None,
    },
    "NUM_PROXIES": NUM_PROXIES,
}
# Lists count exactly up to this many rows, then report the planner's estimate; pages past
# API_PAGINATION_MAX_OFFSET rows are refused in favour of ?cursor= (core/api/pagination.py).
API_PAGINATION_EXACT_COUNT_LIMIT = env.int("API_PAGINATION_EXACT_COUNT_LIMIT", default=10_000)
API_PAGINATION_MAX_OFFSET = env.int("API_PAGINATION_MAX_OFFSET", default=10_000)
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
    # One security scheme (tokenAuth: `Authorization: Token <key>`), the X-Organization header
    # and the real error responses of each operation: core/api/openapi.py.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.openapi.postprocess",
    ],
}

# --- CORS (django-cors-headers; docs/api.md "CORS") ---
# Browser origins allowed to call the API (https://app.example.com,...); empty: none, the API is
# same-origin only. Token auth needs no cookies: credentials stay off.
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_HEADERS = (
    "accept",
    "authorization",
    "content-type",
    "user-agent",
    "x-csrftoken",
    "x-requested-with",
    "x-organization",
    "x-request-id",
)
CORS_EXPOSE_HEADERS = ("X-Request-ID", "Retry-After", "Content-Disposition")
CORS_PREFLIGHT_MAX_AGE = env.int("CORS_PREFLIGHT_MAX_AGE", default=3600)

# --- Content-Security-Policy (django-csp; docs/operations.md "Content-Security-Policy") ---
# On in prod (CSP_ENABLED defaults to true there). Scripts only from this origin (the admin,
# /ops/ with uPlot and Swagger UI have no inline script); inline styles are allowed because
# Swagger UI and Redoc set style attributes; Redoc runs a blob: worker; images may be data: URLs.
CSP_ENABLED = env.bool("CSP_ENABLED", default=False)
ERP_CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        # Redoc's footer shows the Redocly logo from its CDN (hidden when unreachable offline).
        "img-src": ["'self'", "data:", "https://cdn.redoc.ly"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
CONTENT_SECURITY_POLICY = ERP_CONTENT_SECURITY_POLICY if CSP_ENABLED else None

# --- Monitoring ---
# /metrics is open unless METRICS_TOKEN is set (then: Authorization: Bearer <token>); with
# METRICS_REQUIRE_TOKEN (prod default) and no METRICS_TOKEN it refuses every request. The same
# bearer (or a staff session) shows /health/ready/'s details; anyone else gets statuses only.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_REQUIRE_TOKEN = env.bool("METRICS_REQUIRE_TOKEN", default=False)
# erp_http_requests_total / erp_http_request_duration_seconds (off: the benchmark's baseline).
REQUEST_METRICS_ENABLED = env.bool("REQUEST_METRICS_ENABLED", default=True)
# Collectors and readiness checks are registered by each module (core.registry).
HEALTH_CHECK_TIMEOUT = env.float("HEALTH_CHECK_TIMEOUT", default=1.0)
HEALTH_CHECK_KEEP_CONNECTIONS = True

# --- Celery (docs/celery.md explains every choice) ---
# The broker and the result backend get their own Redis databases (REDIS_BROKER_URL and
# REDIS_RESULT_URL above, derived from REDIS_URL), unless given explicitly.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_BROKER_URL)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_RESULT_URL)
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
# django-celery-beat's DatabaseScheduler (schedules in the admin) + a liveness heartbeat + a
# lease so that only one of several beats dispatches (core/celery_app/beat.py).
CELERY_BEAT_SCHEDULER = "core.celery_app.beat:DatabaseScheduler"
CELERY_IMPORTS = ["core.db.tasks"]
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_DEFAULT_QUEUE", default="celery")
# Queues (docs/celery.md "Queues"): exports, e-mails and file scans each on their own, so workers
# scale by queue (one Kubernetes Deployment / systemd erp-worker@<queue> each); everything else
# on the default queue. A worker without -Q (make run) consumes every queue listed here.
CELERY_TASK_ROUTES = {
    "api.v1.exports.tasks.run_export": {"queue": "exports"},
    "api.v1.sales.orders.tasks.send_order_confirmation": {"queue": "emails"},
    "api.v1.sales.invoices.tasks.send_invoice_email": {"queue": "emails"},
    "api.v1.files.tasks.scan_file": {"queue": "file_scans"},
}
CELERY_TASK_QUEUES = [
    Queue(name, Exchange(name), routing_key=name)
    for name in dict.fromkeys(
        [CELERY_TASK_DEFAULT_QUEUE, *(route["queue"] for route in CELERY_TASK_ROUTES.values())]
    )
]
# Depths reported by health, /metrics and celery_status: every queue by default.
CELERY_MONITORED_QUEUES = env.list(
    "CELERY_MONITORED_QUEUES", default=[queue.name for queue in CELERY_TASK_QUEUES]
)
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
# Outgoing e-mail (SMTP backend): the password only from the environment.
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
# seconds: a hung SMTP server raises socket.timeout (transient: the task retries) instead of
# holding the worker process forever
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
# EMAIL_URL / EMAIL_BACKEND (config/settings/_env.py:email_settings) on top of the above; each
# settings module applies it again with its own default (dev: console, test: in-memory, prod: SMTP).
globals().update(email_settings("django.core.mail.backends.smtp.EmailBackend"))
# Transient task failures (SMTP, network, database) are retried for at least this many seconds
# after the first failure, backoff doubling from CELERY_TASK_RETRY_BACKOFF up to
# CELERY_TASK_RETRY_BACKOFF_MAX (jittered down by up to 25 %). The waits are parked in the outbox
# table, not held as ETA messages in Redis (docs/celery.md "Retries and dead letters").
CELERY_TASK_RETRY_WINDOW = env.float("CELERY_TASK_RETRY_WINDOW", default=24 * 3600)
CELERY_TASK_RETRY_BACKOFF = env.float("CELERY_TASK_RETRY_BACKOFF", default=2)
CELERY_TASK_RETRY_BACKOFF_MAX = env.float("CELERY_TASK_RETRY_BACKOFF_MAX", default=600)
_celery_keyprefix = env.str("CELERY_KEY_PREFIX", default="")
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    "socket_connect_timeout": 2,
    "socket_keepalive": True,
    "global_keyprefix": _celery_keyprefix,
}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"global_keyprefix": _celery_keyprefix}
# sentinel:// broker/results (REDIS_SENTINELS, or a CELERY_BROKER_URL written that way): the
# master's name and how to reach the sentinels (kombu's and Celery's Sentinel transports).
_sentinel_options = {
    "master_name": REDIS_SENTINEL_MASTER,
    "sentinel_kwargs": REDIS_SENTINEL_KWARGS,
}
if CELERY_BROKER_URL.startswith("sentinel://"):
    CELERY_BROKER_TRANSPORT_OPTIONS.update(_sentinel_options)
if CELERY_RESULT_BACKEND.startswith("sentinel://"):
    CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS.update(_sentinel_options)
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Ride out a broker outage of any length: retry the connection forever (Celery's default gives
# up after 100 tries, about 50 minutes), and use kombu's Redis transports with the fix for the
# close-path crash (core/celery_app/transport.py, docs/celery.md "Broker outages").
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BROKER_TRANSPORT = env.str("CELERY_BROKER_TRANSPORT", default="") or {
    "redis": "core.celery_app.transport:Transport",
    "sentinel": "core.celery_app.transport:SentinelTransport",
}.get(CELERY_BROKER_URL.split("://", 1)[0])
# The messages a worker held when its broker connection dropped go back to their queue as soon
# as it is connected again, not after the visibility timeout (core/celery_app/consumer.py).
CELERY_WORKER_CONSUMER = "core.celery_app.consumer:Consumer"
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 3,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}
# Task state lives in the database (e.g. Export.status); results are opt-in per task.
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_EXPIRES = 24 * 3600
# Processes per worker (empty: one per core, Celery's default); doctor budgets connections with it.
CELERY_WORKER_CONCURRENCY = env.int("CELERY_WORKER_CONCURRENCY", default=0) or None
CELERY_WORKER_MAX_TASKS_PER_CHILD = env.int("CELERY_WORKER_MAX_TASKS_PER_CHILD", default=1000)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Keep PostgreSQL connections across tasks (CONN_MAX_AGE applies, as for requests: see
# core.celery_app.signals); Celery's fixup would otherwise reconnect for every task.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
# Task events (what Flower and `celery events` show; docs/celery.md#flower): off by default, each
# task then costs the broker two more messages. CELERY_WORKER_SEND_TASK_EVENTS=true turns them on
# for the workers (same as `celery worker -E`) and the task-sent event for the publishers.
CELERY_WORKER_SEND_TASK_EVENTS = env.bool("CELERY_WORKER_SEND_TASK_EVENTS", default=False)
CELERY_TASK_SEND_SENT_EVENT = CELERY_WORKER_SEND_TASK_EVENTS
# Seconds a worker process trusts that an organization exists before checking again (0: every
# task). Permission re-checks are never cached. See core.celery_app.base._OrganizationCache.
CELERY_ORGANIZATION_CHECK_TTL = env.float("CELERY_ORGANIZATION_CHECK_TTL", default=5.0)
# Monitoring keys (counters, heartbeats) in the broker's database; see core.celery_app.monitor.
CELERY_MONITOR_KEY_PREFIX = "erp:celery:"
CELERY_MONITOR_KEY_TTL = None
CELERY_WORKER_HEARTBEAT_MAX_AGE = env.int("CELERY_WORKER_HEARTBEAT_MAX_AGE", default=15)
# Seconds without a heartbeat after which a worker process counts as dead and the messages it
# held are put back on their queues (core/celery_app/redelivery.py; not the visibility timeout).
CELERY_ORPHAN_AFTER = env.int("CELERY_ORPHAN_AFTER", default=30)
CELERY_BEAT_HEARTBEAT_MAX_AGE = env.int("CELERY_BEAT_HEARTBEAT_MAX_AGE", default=60)
# Seconds of the beat lease (core/celery_app/beat.py): any number of beats may run, the holder
# dispatches and renews every TTL/4 s; a standby takes over within TTL + TTL/4 s of its death.
CELERY_BEAT_LOCK_TTL = env.int("CELERY_BEAT_LOCK_TTL", default=20)

# --- Outbox (core.outbox) ---
OUTBOX_RELAY_INTERVAL = env.int("OUTBOX_RELAY_INTERVAL", default=10)  # seconds, beat schedule
OUTBOX_RELAY_BATCH_SIZE = env.int("OUTBOX_RELAY_BATCH_SIZE", default=200)
# A new message belongs to its on-commit publish for this long before the periodic relay may
# take it (only matters when the process died between commit and publish).
OUTBOX_CLAIM_SECONDS = env.int("OUTBOX_CLAIM_SECONDS", default=30)
OUTBOX_RETRY_MAX_DELAY = env.int("OUTBOX_RETRY_MAX_DELAY", default=300)  # seconds
OUTBOX_KEEP_SENT_DAYS = env.int("OUTBOX_KEEP_SENT_DAYS", default=7)
# A row sent this many seconds ago whose task never recorded that it finished is sent again (the
# broker lost it: core/outbox/services.py). Above the longest run (CELERY_TASK_TIME_LIMIT) plus
# the longest broker countdown (CELERY_TASK_RETRY_BACKOFF_MAX) plus a margin, or slow tasks run
# twice (harmless: effects are idempotent, but wasted).
OUTBOX_REDELIVER_AFTER = env.int(
    "OUTBOX_REDELIVER_AFTER",
    default=CELERY_TASK_TIME_LIMIT + int(CELERY_TASK_RETRY_BACKOFF_MAX) + 300,
)
# ... at most this many times; then the row becomes a dead letter (never finishing: a queue no
# worker consumes, a task no worker knows).
OUTBOX_REDELIVER_MAX = env.int("OUTBOX_REDELIVER_MAX", default=5)
OUTBOX_BACKLOG_MAX_AGE = env.int("OUTBOX_BACKLOG_MAX_AGE", default=300)  # health: degraded above

# --- Audit log (core.audit; docs/operations.md#audit-log-retention) ---
# Off drops the audit triggers at the next migrate (nothing is recorded); on installs them.
AUDIT_LOG_ENABLED = env.bool("AUDIT_LOG_ENABLED", default=True)
# prune_audit_log (run as the owner role) deletes records older than this.
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=365)

# --- Exports (api.v1.exports) ---
EXPORT_TTL_HOURS = env.int("EXPORT_TTL_HOURS", default=7 * 24)
EXPORT_CHUNK_SIZE = env.int("EXPORT_CHUNK_SIZE", default=2000)

# Serve the unauthenticated "bare" DRF list used as the benchmark baseline (bench/ only).
BENCH_ENDPOINTS = env.bool("BENCH_ENDPOINTS", default=False)
BENCH_URLCONF = "bench.bare"  # the URLconf served when BENCH_ENDPOINTS is on

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# LOG_FORMAT=plain (default: one readable line) or json (one JSON object per line, for log
# shippers; python-json-logger). Every line carries the request id (core.requestid): web,
# worker, beat and manage.py all load these settings.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'plain' or 'json', not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.requestid.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "celery": {"level": LOG_LEVEL},
    },
}

# --- Migrations (issue 3; docs/migrations.md) ---
# Branch that `check_migrations --new-only` compares against (untracked migrations count as new).
MIGRATION_GATE_BASE_REF = env.str("MIGRATION_GATE_BASE_REF", default="main")

# --- Backups (issue 3; docs/backups.md) ---
BACKUP_DIR = env.path("BACKUP_DIR", default=BASE_DIR / "backups")
# Role for pg_dump (the schema owner) and for restore/verify (an administrative role that can
# create/rename/drop databases and terminate sessions). Only user/password/host/port are used;
# empty = the role of DATABASE_URL.
BACKUP_DATABASE_URL = env.str("BACKUP_DATABASE_URL", default="")
BACKUP_ADMIN_URL = env.str("BACKUP_ADMIN_URL", default="")
BACKUP_FORMAT = env.str("BACKUP_FORMAT", default="directory")  # or "custom"
BACKUP_JOBS = env.int("BACKUP_JOBS", default=2)  # pg_dump (directory format) / pg_restore -j
BACKUP_KEEP_LAST = env.int("BACKUP_KEEP_LAST", default=7)
BACKUP_KEEP_DAYS = env.int("BACKUP_KEEP_DAYS", default=30)
# Headroom required on BACKUP_DIR's disk on top of the database + media size.
BACKUP_FREE_SPACE_MARGIN_BYTES = env.int("BACKUP_FREE_SPACE_MARGIN_BYTES", default=100 * 2**20)
PG_BIN_DIR = env.str("PG_BIN_DIR", default="")  # where pg_dump/pg_restore live; empty = PATH

# safe_migrate: session timeouts, lock-timeout retries, backup first (on in prod).
MIGRATION_LOCK_TIMEOUT = env.str("MIGRATION_LOCK_TIMEOUT", default="5s")
MIGRATION_STATEMENT_TIMEOUT = env.str("MIGRATION_STATEMENT_TIMEOUT", default="30min")
MIGRATION_LOCK_RETRIES = env.int("MIGRATION_LOCK_RETRIES", default=5)
MIGRATION_RETRY_BACKOFF = env.float("MIGRATION_RETRY_BACKOFF", default=2.0)  # seconds, doubles
SAFE_MIGRATE_BACKUP = env.bool("SAFE_MIGRATE_BACKUP", default=False)

# --- Doctor (manage.py doctor, /ops/; docs/operations.md) ---
# Production rules fail (instead of warn) when on; default: DEBUG off.
DOCTOR_PRODUCTION = env.bool("DOCTOR_PRODUCTION", default=not DEBUG)
DOCTOR_CHECK_TIMEOUT = env.float("DOCTOR_CHECK_TIMEOUT", default=10.0)  # seconds per check
DOCTOR_XID_AGE_WARN = env.int("DOCTOR_XID_AGE_WARN", default=1_000_000_000)  # fail at 2x
DOCTOR_REPLICA_LAG_WARN_SECONDS = env.float("DOCTOR_REPLICA_LAG_WARN_SECONDS", default=30.0)
DOCTOR_QUEUE_BACKLOG_MAX = env.int("DOCTOR_QUEUE_BACKLOG_MAX", default=1000)
DOCTOR_BACKUP_MAX_AGE_HOURS = env.float("DOCTOR_BACKUP_MAX_AGE_HOURS", default=26)
# /ops/ (core.ops): seconds between the page's refreshes; how often each process writes its
# request counts to the broker's Redis (the charts' rolling hour).
OPS_REFRESH_SECONDS = env.float("OPS_REFRESH_SECONDS", default=10.0)
OPS_REQUEST_FLUSH_SECONDS = env.float("OPS_REQUEST_FLUSH_SECONDS", default=5.0)

# --- Deployment (docs/deploy.md) ---
# Shown as "X-Environment: <name>" on every response and in the admin header (core.environment);
# config.settings.staging sets "staging". Empty: no marker.
ERP_ENVIRONMENT = env.str("ERP_ENVIRONMENT", default="")
# Web processes record their host in Redis every WEB_HEARTBEAT_EVERY s; a host counts as serving
# while its heartbeat is younger than WEB_HEARTBEAT_MAX_AGE s (core.webhosts: doctor/readiness
# warn when several web hosts share local file storage).
WEB_HEARTBEAT_EVERY = env.float("WEB_HEARTBEAT_EVERY", default=15.0)
WEB_HEARTBEAT_MAX_AGE = env.float("WEB_HEARTBEAT_MAX_AGE", default=60.0)
# manage.py smoke: the deployment to check, the dedicated smoke user and organization.
SMOKE_BASE_URL = env.str("SMOKE_BASE_URL", default="")
SMOKE_USERNAME = env.str("SMOKE_USERNAME", default="smoke")
SMOKE_PASSWORD = env.str("SMOKE_PASSWORD", default="")
SMOKE_ORGANIZATION = env.str("SMOKE_ORGANIZATION", default="smoke")

# --- Error reporting (sentry-sdk; docs/operations.md "Sentry") ---
# Set SENTRY_DSN to report unhandled errors of web requests, Celery tasks and commands.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
if SENTRY_DSN:
    from core.sentry import init_sentry

    init_sentry(
        SENTRY_DSN,
        environment=SENTRY_ENVIRONMENT,
        release=APP_VERSION,
        traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
    )
