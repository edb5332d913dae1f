"""Built-in component checks."""

from django.conf import settings
from django.db import connection

from .registry import register


@register("database", critical=True)
def database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        # Runs in a long-lived probe thread that keeps its connection between probes (one
        # connect saved per probe); a broken one is dropped so the next probe reconnects.
        if settings.HEALTH_CHECK_KEEP_CONNECTIONS:
            connection.close_if_unusable_or_obsolete()
        else:
            connection.close()
    return {}
