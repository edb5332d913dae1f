"""The audit triggers: one ``AFTER INSERT OR UPDATE OR DELETE ... FOR EACH ROW`` trigger per
audited table, all calling ``audit_record_change(object_type, organization_column, pk_column)``.

Triggers, not Django signals, because changes also come as raw SQL (orders take stock with one
``UPDATE`` statement, ``core.db.counters``), ``QuerySet.update()`` and ``bulk_create``: a trigger
sees every row whichever way it changed, in the same transaction, for the price of one
``INSERT`` in the server and no extra round trip.

Who and which request: the application prefixes each statement it sends inside a request or
a task with ``/*audit:'<actor id>,<request id>'*/`` (``core.audit.context``) and the trigger
reads it back with ``current_query()``. No ``set_config()`` round trip per transaction, and nothing that
outlives the statement (safe with transaction-pooling pgbouncer). No prefix (a command, the
shell, a task queued outside a request) means actor and request id ``NULL``: the system.

Audited: every concrete model with an ``organization`` foreign key to
``ERP_ORGANIZATION_MODEL``, the organization model itself (its own id is the organization),
memberships, and roles (global rows: organization ``NULL``, visible in the admin only). A model
opts out with the class attribute ``audit_log = False`` (the number counters do).
Installed after every ``migrate`` (``install_triggers``), so a new module's models are covered
without a line of its own.
"""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.db import connections
from psycopg import sql

TRIGGER = "audit_record_change"

FUNCTION_SQL = r"""
CREATE OR REPLACE FUNCTION audit_record_change() RETURNS trigger
LANGUAGE plpgsql AS $audit$
DECLARE
    old_row jsonb;
    new_row jsonb;
    diff jsonb;
    context text;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        old_row := to_jsonb(OLD);
        new_row := to_jsonb(NEW);
        SELECT jsonb_object_agg(n.key, jsonb_build_array(old_row -> n.key, n.value)) INTO diff
          FROM jsonb_each(new_row) AS n WHERE n.value IS DISTINCT FROM old_row -> n.key;
        IF diff IS NULL THEN
            RETURN NULL;  -- an UPDATE that changed nothing is no change
        END IF;
    ELSIF TG_OP = 'INSERT' THEN
        new_row := to_jsonb(NEW);
        SELECT jsonb_object_agg(key, jsonb_build_array(NULL::jsonb, value)) INTO diff
          FROM jsonb_each(new_row);
    ELSE
        new_row := to_jsonb(OLD);
        SELECT jsonb_object_agg(key, jsonb_build_array(value, NULL::jsonb)) INTO diff
          FROM jsonb_each(new_row);
    END IF;
    -- '/*audit:''<actor>,<request id>''*/': the context is a bound (quoted) parameter; the
    -- unquoted form is what the application sent before (kept for a rolling deploy).
    context := substring(current_query() FROM '^/\*audit:''?([0-9]*,[A-Za-z0-9._:-]*)''?\*/');
    INSERT INTO audit_record
        (created_at, organization_id, actor_id, action, object_type, object_id, changes,
         request_id)
    VALUES (
        now(),
        CASE WHEN TG_ARGV[1] <> '' THEN (new_row ->> TG_ARGV[1])::bigint END,
        nullif(split_part(context, ',', 1), '')::bigint,
        CASE TG_OP WHEN 'INSERT' THEN 'create' WHEN 'UPDATE' THEN 'update' ELSE 'delete' END,
        TG_ARGV[0],
        new_row ->> TG_ARGV[2],
        diff,
        nullif(split_part(context, ',', 2), '')
    );
    RETURN NULL;
END
$audit$;
"""

# Every table carrying the audit trigger (also tables no model names any more).
TRIGGERED_TABLES_SQL = """
SELECT n.nspname, c.relname FROM pg_trigger t
  JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE t.tgname = 'audit_record_change' AND NOT t.tgisinternal ORDER BY 2
"""

# The audit migration's reverse: no trigger may outlive the table it writes to.
DROP_ALL_SQL = (
    """
DO $drop$
DECLARE target record;
BEGIN
    FOR target IN """
    + TRIGGERED_TABLES_SQL
    + """ LOOP
        EXECUTE format('DROP TRIGGER audit_record_change ON %I.%I', target.nspname, target.relname);
    END LOOP;
    DROP FUNCTION IF EXISTS audit_record_change();
END
$drop$;
"""
)


def audited_models() -> list[tuple[type, str]]:
    """[(model, organization column or '' for global rows)] in a stable order."""
    organization_model = apps.get_model(settings.ERP_ORGANIZATION_MODEL)
    special = {
        settings.ERP_ORGANIZATION_MODEL.lower(): "id",
        settings.ERP_MEMBERSHIP_MODEL.lower(): "organization_id",
        settings.ERP_ROLE_MODEL.lower(): "",
    }
    found = []
    for model in apps.get_models():
        meta = model._meta
        if meta.proxy or not meta.managed or meta.label_lower == "audit.auditrecord":
            continue
        if getattr(model, "audit_log", True) is False:
            continue  # the model opted out (internal bookkeeping such as number counters)
        if meta.label_lower in special:
            found.append((model, special[meta.label_lower]))
            continue
        field = next((f for f in meta.concrete_fields if f.name == "organization"), None)
        if field is not None and field.related_model is organization_model:
            found.append((model, field.column))
    return sorted(found, key=lambda pair: pair[0]._meta.label_lower)


def trigger_sql(model, organization_column: str) -> str:
    meta = model._meta
    return (
        sql.SQL(
            "CREATE OR REPLACE TRIGGER {trigger} AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION audit_record_change({label}, {column}, {pk})"
        )
        .format(
            trigger=sql.Identifier(TRIGGER),
            table=sql.Identifier(meta.db_table),
            label=sql.Literal(meta.label_lower),
            column=sql.Literal(organization_column),
            pk=sql.Literal(meta.pk.column),
        )
        .as_string(None)
    )


def install_triggers(using: str = "default") -> list[str]:
    """(Re)create the function and every audited table's trigger; returns the tables."""
    tables = []
    connection = connections[using]
    existing = set(connection.introspection.table_names())
    if "audit_record" not in existing:
        return tables  # a partial migrate (audit not applied yet): nothing to record into
    with connection.cursor() as cursor:
        cursor.execute(FUNCTION_SQL)
        for model, organization_column in audited_models():
            if model._meta.db_table not in existing:
                continue  # that app is migrated to zero or not yet: the next migrate covers it
            cursor.execute(trigger_sql(model, organization_column))
            tables.append(model._meta.db_table)
        cursor.execute(TRIGGERED_TABLES_SQL)
        for schema, table in cursor.fetchall():
            if table not in tables:  # a model that opted out since, or is gone
                cursor.execute(
                    sql.SQL("DROP TRIGGER {} ON {}.{}")
                    .format(sql.Identifier(TRIGGER), sql.Identifier(schema), sql.Identifier(table))
                    .as_string(None)
                )
    return tables


def drop_triggers(using: str = "default") -> list[str]:
    """Remove every audited table's trigger (the benchmark's baseline; ``migrate`` restores)."""
    with connections[using].cursor() as cursor:
        cursor.execute(TRIGGERED_TABLES_SQL)
        found = cursor.fetchall()
        for schema, table in found:
            cursor.execute(
                sql.SQL("DROP TRIGGER {} ON {}.{}")
                .format(sql.Identifier(TRIGGER), sql.Identifier(schema), sql.Identifier(table))
                .as_string(None)
            )
    return [table for _, table in found]


def install_triggers_after_migrate(using="default", plan=None, **kwargs) -> None:
    if not settings.AUDIT_LOG_ENABLED:
        drop_triggers(using)
        return
    install_triggers(using)
