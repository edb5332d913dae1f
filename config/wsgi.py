"""WSGI entry point (gunicorn config.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

application = get_wsgi_application()

# The request path imports redis-py lazily so that management commands start lean
# (core/tests/test_startup.py). A server must not: with threads (the web heartbeat, gthread
# workers) two first imports of redis-py's mutually importing modules can run at once, and one of
# them sees a partially initialised module (ImportError -> a 500; seen under `make chaos`). Load
# them here, once, before gunicorn (preload_app) forks and before any thread serves.
import django_redis.client  # noqa: E402,F401
import redis  # noqa: E402,F401
import redis.sentinel  # noqa: E402,F401
