"""Phase 1 of the NOT NULL ``Order.number``: a nullable column (catalog-only change, no rewrite,
no scan) and the per-organization counter table (new, empty: indexes and FKs are free)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("organizations", "0002_seed_roles"),
        ("orders", "0002_order_org_created_idx"),
    ]

    operations = [
        migrations.AddField(
            model_name="order", name="number", field=models.BigIntegerField(null=True)
        ),
        migrations.CreateModel(
            name="OrderNumberCounter",
            fields=[
                (
                    "organization",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="organizations.organization",
                    ),
                ),
                ("last_number", models.BigIntegerField(default=0)),
            ],
        ),
    ]
