"""Phase 2: backfill ``Order.number`` in chunks (1, 2, 3... per organization in id order).

Non-atomic: each chunk is its own short transaction, so row locks are held for one chunk only
and a failure keeps the chunks already done (re-running continues where it stopped: only rows
with ``number IS NULL`` are touched). The reverse empties the column again, also in chunks.
"""

from django.db import migrations, transaction
from django.db.models import Max

CHUNK = 1000


def _chunks(queryset, size=CHUNK):
    chunk = []
    for row in queryset.iterator(chunk_size=size):
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def backfill_numbers(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    OrderNumberCounter = apps.get_model("orders", "OrderNumberCounter")
    last = {
        row["organization_id"]: row["top"]
        for row in Order.objects.values("organization_id").annotate(top=Max("number"))
    }
    pending = Order.objects.filter(number__isnull=True).order_by("id").only("id", "organization")
    for chunk in _chunks(pending):
        for order in chunk:
            last[order.organization_id] = (last.get(order.organization_id) or 0) + 1
            order.number = last[order.organization_id]
        with transaction.atomic():
            Order.objects.bulk_update(chunk, ["number"])
    with transaction.atomic():
        for organization_id, top in last.items():
            if top:
                counter, _ = OrderNumberCounter.objects.select_for_update().get_or_create(
                    organization_id=organization_id
                )
                if counter.last_number < top:
                    counter.last_number = top
                    counter.save(update_fields=["last_number"])


def clear_numbers(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    OrderNumberCounter = apps.get_model("orders", "OrderNumberCounter")
    numbered = (
        Order.objects.filter(number__isnull=False).order_by("id").values_list("id", flat=True)
    )
    for chunk in _chunks(numbered):
        with transaction.atomic():
            Order.objects.filter(id__in=chunk).update(number=None)
    OrderNumberCounter.objects.all().delete()


class Migration(migrations.Migration):
    atomic = False
    # Only rows with number IS NULL are touched: re-running after a failure is safe.
    safe_to_retry = True

    dependencies = [("orders", "0003_order_number_nullable")]

    operations = [migrations.RunPython(backfill_numbers, clear_numbers, elidable=True)]
