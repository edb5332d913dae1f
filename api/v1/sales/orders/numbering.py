"""Per-organization order numbers, safe under concurrency."""

from django.db import connection

from .models import OrderNumberCounter

_NEXT_NUMBER_SQL = f"""
    INSERT INTO {OrderNumberCounter._meta.db_table} (organization_id, last_number)
    VALUES (%s, 1)
    ON CONFLICT (organization_id) DO UPDATE SET last_number = EXCLUDED.last_number
        + {OrderNumberCounter._meta.db_table}.last_number
    RETURNING last_number
"""


def next_order_number(organization_id: int) -> int:
    """Take the next number of the organization. Call inside the transaction that stores the
    order: the counter row stays locked until it commits (a rollback gives the number back)."""
    with connection.cursor() as cursor:
        cursor.execute(_NEXT_NUMBER_SQL, [organization_id])
        return cursor.fetchone()[0]
