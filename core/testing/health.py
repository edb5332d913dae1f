"""``/health/ready/`` as an operator sees it: with the details (the METRICS_TOKEN bearer)."""

from __future__ import annotations

from django.test import override_settings

TOKEN = "test-health-details-token"


def ready_with_details(client, **extra):
    with override_settings(METRICS_TOKEN=TOKEN):
        return client.get("/health/ready/", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **extra)
