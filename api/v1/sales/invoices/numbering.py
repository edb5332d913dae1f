"""Per-organization invoice numbers 1, 2, 3, ...: gap-free under concurrency and rollbacks."""

from django.db import connection

from .models import InvoiceNumberCounter

_TABLE = InvoiceNumberCounter._meta.db_table
_NEXT_NUMBER_SQL = f"""
    INSERT INTO {_TABLE} (organization_id, last_number) VALUES (%s, 1)
    ON CONFLICT (organization_id) DO UPDATE SET last_number = {_TABLE}.last_number + 1
    RETURNING last_number
"""


def next_invoice_number(organization_id: int) -> int:
    """Take the next number. Call as late as possible inside the issuing transaction: the
    counter row stays locked until it commits, and a rollback gives the number back."""
    with connection.cursor() as cursor:
        cursor.execute(_NEXT_NUMBER_SQL, [organization_id])
        return cursor.fetchone()[0]
