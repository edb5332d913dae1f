"""Staging: production's rules with its own database, bucket and Redis, marked as staging.

Everything prod refuses, staging refuses too (it *is* prod.py, imported whole): DEBUG off,
a real SECRET_KEY, ALLOWED_HOSTS, HTTPS. Connections come from the environment exactly as in
prod, so staging points at its own PostgreSQL database, S3 bucket and Redis (docs/deploy.md
"Staging"); the key prefixes default to ``erp-staging`` so that even a Redis server shared with
prod by mistake never mixes keys. Responses carry ``X-Environment: staging`` and the admin
header says ``[STAGING]`` (core.environment).
"""

import os

os.environ.setdefault("CACHE_KEY_PREFIX", "erp-staging")
os.environ.setdefault("CELERY_KEY_PREFIX", "erp-staging:")

from .prod import *  # noqa: E402,F403

ERP_ENVIRONMENT = "staging"  # core.environment.EnvironmentHeaderMiddleware (in MIDDLEWARE)
