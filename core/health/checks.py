"""Built-in component checks."""

from django.db import connection

from .registry import register


@register("database", critical=True)
def database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        # This runs in a probe thread: don't leave a broken connection behind for the next probe.
        connection.close_if_unusable_or_obsolete()
    return {}
