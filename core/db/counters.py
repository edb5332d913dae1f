"""Gap-free per-organization counters (order numbers, invoice numbers, ...).

A counter table has one row per organization (``organization_id`` primary key, ``last_number``).
Taking a number is one ``INSERT ... ON CONFLICT DO UPDATE``: the row lock it takes is held until
the transaction ends, so concurrent transactions of one organization get consecutive numbers in
commit order, and a rollback gives its number back (no gaps). Other organizations never wait.

Because that lock serializes one organization's writers, take the number *as late as possible*:
ideally in the last statement before COMMIT. A module can create a SQL function doing the same
upsert in a migration (orders 0007), so the number is computed inside that last INSERT itself
(``NextNumber``) instead of in a statement of its own followed by Python work (a lock convoy).
"""

from __future__ import annotations

from django.db import connection, models


def next_number_sql(table: str) -> str:
    return f"""
        INSERT INTO {table} (organization_id, last_number) VALUES (%s, 1)
        ON CONFLICT (organization_id) DO UPDATE SET last_number = {table}.last_number + 1
        RETURNING last_number
    """


def take_next_number(counter_model: type[models.Model], organization_id: int) -> int:
    """The organization's next number from ``counter_model``'s table, in its own statement."""
    with connection.cursor() as cursor:
        cursor.execute(next_number_sql(counter_model._meta.db_table), [organization_id])
        return cursor.fetchone()[0]


class NextNumber(models.Func):
    """``NextNumber("orders_next_order_number", organization_id)``: the counter function called
    inside the INSERT that stores the row (see ``ReturningBigIntegerField``)."""

    output_field = models.BigIntegerField()

    def __init__(self, function: str, organization_id: int):
        super().__init__(models.Value(organization_id), function=function)


class ReturningBigIntegerField(models.BigIntegerField):
    """A bigint that INSERT ... RETURNING reads back, so a value computed by the database at
    insert time (``NextNumber``) is on the instance after ``save()`` without another query."""

    db_returning = True
