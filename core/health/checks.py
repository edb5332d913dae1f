"""Built-in component checks."""

from django.db import connection

from .registry import register


@register("database", critical=True)
def database() -> dict:
    # Runs in a probe thread; core.health.registry tidies the thread's connections afterwards.
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {}
