"""Production: no defaults for secrets or connections; refuses to start when insecure."""

from django.core.exceptions import ImproperlyConfigured

from ._env import email_settings, env
from .base import *  # noqa: F403
from .base import ALLOWED_HOSTS, DEBUG, SECRET_KEY

INSECURE_KEY_MARKERS = ("insecure", "dev-", "test-", "change-me", "changeme", "secret")


def _refuse_insecure_configuration() -> None:
    problems = []
    if DEBUG:
        problems.append("DEBUG is on: set DEBUG=false.")
    if (
        len(SECRET_KEY) < 50
        or len(set(SECRET_KEY)) < 5
        or any(marker in SECRET_KEY.lower() for marker in INSECURE_KEY_MARKERS)
    ):
        problems.append(
            "SECRET_KEY is missing, short or a known default: generate one with "
            "`python -c 'from django.core.management.utils import get_random_secret_key as g; "
            "print(g())'` and set SECRET_KEY."
        )
    if not ALLOWED_HOSTS:
        problems.append("ALLOWED_HOSTS is empty: set ALLOWED_HOSTS=erp.example.com,...")
    if problems:
        raise ImproperlyConfigured("Refusing to start with prod settings: " + " ".join(problems))


_refuse_insecure_configuration()

# HTTPS everywhere; TLS is terminated by the proxy in front (nginx), which sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# Probes and scrapers talk plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
globals().update(email_settings("django.core.mail.backends.smtp.EmailBackend"))

# Content-Security-Policy on every response (base.ERP_CONTENT_SECURITY_POLICY); CSP_ENABLED=false
# turns it off.
if env.bool("CSP_ENABLED", default=True):
    CONTENT_SECURITY_POLICY = ERP_CONTENT_SECURITY_POLICY  # noqa: F405

# /metrics is refused (403) until METRICS_TOKEN is set: its figures are not for the public.
METRICS_REQUIRE_TOKEN = env.bool("METRICS_REQUIRE_TOKEN", default=True)

# Deploy-time `safe_migrate` takes and verifies a backup first.
SAFE_MIGRATE_BACKUP = env.bool("SAFE_MIGRATE_BACKUP", default=True)
