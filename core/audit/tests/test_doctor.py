"""The audit log's doctor rules on the real database: triggers present, missing, switched off;
records past retention."""

from __future__ import annotations

import pytest
from django.db import connection

from core.audit.doctor import check_audit_log
from core.audit.models import AuditRecord
from core.doctor import Context
from core.registry import registry

pytestmark = pytest.mark.django_db


def findings(production=False):
    return {f.id: f for f in check_audit_log(Context(production=production))}


def test_registered_in_the_postgres_section():
    assert registry["doctor_checks"]["audit"].section == "postgres"


def test_triggers_present_then_missing_then_off(settings):
    ok = findings()
    assert ok["postgres.audit_triggers"].status == "ok"
    assert ok["postgres.audit_retention"].status == "ok"
    with connection.cursor() as cursor:  # rolled back with the test
        cursor.execute("DROP TRIGGER audit_record_change ON products_product")
    missing = findings()["postgres.audit_triggers"]
    assert missing.status == "fail" and "products_product" in missing.message
    assert "migrate" in missing.hint
    settings.AUDIT_LOG_ENABLED = False
    assert findings()["postgres.audit_triggers"].status == "warn"
    assert findings(production=True)["postgres.audit_triggers"].status == "fail"


def test_records_past_retention_warn(settings, org):
    settings.AUDIT_RETENTION_DAYS = 30
    AuditRecord.objects.filter(organization=org).update(created_at="2000-01-01T00:00:00Z")
    finding = findings()["postgres.audit_retention"]
    assert finding.status == "warn" and "prune_audit_log" in finding.message
