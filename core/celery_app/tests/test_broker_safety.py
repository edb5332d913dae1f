"""redis_stats, readiness and /metrics warn about broker settings that lose tasks (issue 9):
``appendonly no`` and a ``maxmemory-policy`` other than ``noeviction``, on a private
redis-server configured each way."""

import io

import pytest
from django.core.management import call_command

from core.celery_app import monitor
from core.testing.health import ready_with_details

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _report(client):
    out = io.StringIO()
    call_command("redis_stats", stdout=out)
    broker = ready_with_details(client).json()["components"]["celery_broker"]
    metrics = client.get("/metrics").content.decode()
    return out.getvalue(), broker, metrics


def test_unsafe_broker_settings_are_reported_everywhere(broker, client):
    redis = broker.client(0)
    # As started by the tests: no AOF, default policy (noeviction).
    assert monitor.read_status().broker_warnings == [
        "broker Redis has appendonly no: a Redis restart loses every queued task "
        "(set appendonly yes)"
    ]
    stats, health, metrics = _report(client)
    assert "broker: appendonly no, maxmemory-policy noeviction" in stats
    assert "WARNING: broker Redis has appendonly no" in stats
    assert health["status"] == "ok" and health["safety"] == "warn"
    assert health["appendonly"] is False
    assert "erp_celery_broker_appendonly 0.0" in metrics
    assert "erp_celery_broker_noeviction 1.0" in metrics
    assert "erp_celery_broker_unsafe_settings 1.0" in metrics

    redis.config_set("appendonly", "yes")
    redis.config_set("maxmemory-policy", "allkeys-lru")
    stats, health, metrics = _report(client)
    assert "WARNING: broker Redis has maxmemory-policy allkeys-lru" in stats
    assert "appendonly no" not in stats
    assert health["warnings"] == [
        "broker Redis has maxmemory-policy allkeys-lru: an evicted key is a lost task "
        "(set maxmemory-policy noeviction)"
    ]
    assert "erp_celery_broker_appendonly 1.0" in metrics
    assert "erp_celery_broker_noeviction 0.0" in metrics

    redis.config_set("maxmemory-policy", "noeviction")
    stats, health, metrics = _report(client)
    assert "broker: appendonly yes, maxmemory-policy noeviction" in stats
    assert "WARNING" not in stats
    assert "warnings" not in health and health["appendonly"] is True
    assert "erp_celery_broker_unsafe_settings 0.0" in metrics
