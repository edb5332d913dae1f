"""SQL rules judged on what ``sqlmigrate`` produces for PostgreSQL.

django-migration-linter 6.0.0 (evaluated on Django 5.2) supplies the engine (``Check`` /
``PostgresqlAnalyser``) and these checks, which we keep: CREATE_INDEX, DROP_INDEX, REINDEX,
RENAME_TABLE, RENAME_COLUMN, DROP_TABLE, DROP_COLUMN, ALTER_COLUMN, plus its RunPython/RunSQL
linting (reversibility, ``apps.get_model``). It lacks, so we add: FOREIGN KEY / CHECK without
``NOT VALID``, ``SET NOT NULL`` on an existing column (its NOT_NULL mixes that with ADD COLUMN),
volatile defaults, ``CONCURRENTLY`` inside an atomic migration; and we replace its ADD_UNIQUE
(which flags even ``CREATE UNIQUE INDEX CONCURRENTLY`` and ``ADD CONSTRAINT ... USING INDEX``).
Every rule ignores statements on a table created earlier in the same migration: a new, empty
table can be indexed and constrained at no cost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django_migration_linter.sql_analyser.base import Check, CheckMode, CheckType
from django_migration_linter.sql_analyser.postgresql import PostgresqlAnalyser

_TABLE_AFTER = {
    "create_index": re.compile(
        r'CREATE (?:UNIQUE )?INDEX (?:CONCURRENTLY )?.*? ON (?:ONLY )?("?[\w.]+"?)'
    ),
    "alter_table": re.compile(r'ALTER TABLE (?:ONLY )?(?:IF EXISTS )?("?[\w.]+"?)'),
}


def _created_tables(statements: list[str]) -> set[str]:
    return {
        m.group(1).strip('"')
        for s in statements
        if (m := re.match(r'CREATE TABLE (?:IF NOT EXISTS )?("?[\w.]+"?)', s))
    }


def _table_of(statement: str) -> str | None:
    for pattern in _TABLE_AFTER.values():
        if m := pattern.search(statement):
            return m.group(1).strip('"')
    return None


def _on_existing_table(statement: str, statements: list[str]) -> bool:
    table = _table_of(statement)
    return table is not None and table not in _created_tables(statements)


def _offending(pattern: str, *, unless: str | None = None):
    """A TRANSACTION-mode check: some statement matches ``pattern`` (and not ``unless``) on a
    table that this migration did not create."""
    regex, negative = re.compile(pattern), re.compile(unless) if unless else None

    def check(statements: list[str], **kwargs) -> bool:
        return any(
            regex.search(s)
            and not (negative and negative.search(s))
            and _on_existing_table(s, statements)
            for s in statements
        )

    return check


def _not_null_column_without_default(statements: list[str], **kwargs) -> bool:
    """ADD COLUMN ... NOT NULL whose column ends without a database default (Django adds
    ``DEFAULT x NOT NULL`` then ``DROP DEFAULT``: rows written by the old code then fail)."""
    for s in statements:
        m = re.search(r'ADD COLUMN ("?\w+"?) .*NOT NULL', s)
        if not m:
            continue
        column = m.group(1)
        if "DEFAULT" not in s:
            return True
        if any(f"ALTER COLUMN {column} DROP DEFAULT" in other for other in statements):
            return True
    return False


def _concurrently_in_atomic(statements: list[str], **kwargs) -> bool:
    return (
        bool(statements)
        and statements[0].startswith("BEGIN")
        and any("CONCURRENTLY" in s for s in statements)
    )


VOLATILE = (
    r"(?:CLOCK_TIMESTAMP|STATEMENT_TIMESTAMP|TIMEOFDAY|RANDOM|GEN_RANDOM_UUID"
    r"|UUID_GENERATE_V[14]\w*|NEXTVAL)\s*\("
)

ERP_CHECKS = [
    Check(
        code="CREATE_INDEX",
        fn=_offending(r"CREATE (UNIQUE )?INDEX ", unless=r"INDEX CONCURRENTLY"),
        message="CREATE INDEX without CONCURRENTLY on an existing table",
        mode=CheckMode.TRANSACTION,
        type=CheckType.ERROR,
    ),
    Check(
        code="ADD_UNIQUE",
        fn=_offending(r"ADD CONSTRAINT .* UNIQUE", unless=r"USING INDEX"),
        message="ADD CONSTRAINT ... UNIQUE builds its index under lock",
        mode=CheckMode.TRANSACTION,
        type=CheckType.ERROR,
    ),
    Check(
        code="ADD_FOREIGN_KEY",
        fn=_offending(
            r"ADD CONSTRAINT .* FOREIGN KEY|ADD COLUMN .* REFERENCES ", unless=r"NOT VALID"
        ),
        message="FOREIGN KEY added without NOT VALID",
        mode=CheckMode.TRANSACTION,
        type=CheckType.ERROR,
    ),
    Check(
        code="ADD_CHECK",
        fn=_offending(r"ADD (CONSTRAINT|COLUMN) .* CHECK ", unless=r"NOT VALID"),
        message="CHECK constraint added without NOT VALID",
        mode=CheckMode.TRANSACTION,
        type=CheckType.ERROR,
    ),
    Check(
        code="NOT_NULL",
        fn=_not_null_column_without_default,
        message="NOT NULL column added without a database default",
        mode=CheckMode.TRANSACTION,
        type=CheckType.ERROR,
    ),
    Check(
        code="SET_NOT_NULL",
        fn=_offending(r"ALTER COLUMN .* SET NOT NULL"),
        message="SET NOT NULL on an existing column",
        mode=CheckMode.TRANSACTION,
        type=CheckType.ERROR,
    ),
    Check(
        code="VOLATILE_DEFAULT",
        fn=_offending(
            rf"ADD COLUMN .*(?:DEFAULT \(?\s*{VOLATILE}|\b(?:BIG|SMALL)?SERIAL\b|GENERATED .* AS IDENTITY)"
        ),
        message="column added with a volatile default",
        mode=CheckMode.TRANSACTION,
        type=CheckType.ERROR,
    ),
    Check(
        code="CONCURRENTLY_IN_ATOMIC",
        fn=_concurrently_in_atomic,
        message="CONCURRENTLY inside an atomic (transactional) migration",
        mode=CheckMode.TRANSACTION,
        type=CheckType.ERROR,
    ),
]


class ErpPostgresqlAnalyser(PostgresqlAnalyser):
    """django-migration-linter's PostgreSQL analyser with our additions; every finding is an
    error (a finding is either fixed or allowed with a reviewed reason)."""

    migration_checks = [
        c for c in PostgresqlAnalyser.migration_checks if c.code != "CREATE_INDEX"
    ] + ERP_CHECKS

    def __init__(self, exclude_migration_tests=None):
        super().__init__(exclude_migration_tests)
        for check in self.migration_checks:
            check.type = CheckType.ERROR
        # Covered by CREATE_INDEX (same statement, with the created-table exemption).
        self.migration_checks = [
            c for c in self.migration_checks if c.code != "CREATE_INDEX_EXCLUSIVE"
        ]


@dataclass(frozen=True)
class Advice:
    why: str
    fix: str


ADVICE: dict[str, Advice] = {
    "CREATE_INDEX": Advice(
        "CREATE INDEX takes a SHARE lock: every INSERT/UPDATE/DELETE on the table waits for the "
        "whole index build (a full scan + sort).",
        "Use django.contrib.postgres.operations.AddIndexConcurrently in a migration with "
        "atomic = False (CREATE INDEX CONCURRENTLY only takes SHARE UPDATE EXCLUSIVE).",
    ),
    "DROP_INDEX": Advice(
        "DROP INDEX takes an ACCESS EXCLUSIVE lock on the table: reads and writes queue behind it.",
        "Use RemoveIndexConcurrently (atomic = False): DROP INDEX CONCURRENTLY.",
    ),
    "REINDEX": Advice(
        "REINDEX locks out writes (and reads using the index) for the whole rebuild.",
        "REINDEX INDEX CONCURRENTLY outside a transaction (atomic = False), or build a new index "
        "concurrently and drop the old one concurrently.",
    ),
    "ADD_UNIQUE": Advice(
        "ADD CONSTRAINT ... UNIQUE builds a unique index under an ACCESS EXCLUSIVE lock: the table "
        "is unreadable and unwritable for the whole build.",
        "CREATE UNIQUE INDEX CONCURRENTLY (atomic = False), then "
        "ALTER TABLE ... ADD CONSTRAINT ... UNIQUE USING INDEX (instant).",
    ),
    "ADD_FOREIGN_KEY": Advice(
        "ADD FOREIGN KEY validates every existing row while holding SHARE ROW EXCLUSIVE on both "
        "tables: writes to both wait for a full scan.",
        "ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID (instant), then in a later step "
        "VALIDATE CONSTRAINT (SHARE UPDATE EXCLUSIVE: writes continue). For a new FK column: add "
        "it with db_constraint=False, then the NOT VALID constraint by RunSQL.",
    ),
    "ADD_CHECK": Advice(
        "ADD CONSTRAINT ... CHECK (or a column added with an inline CHECK, e.g. a Positive*Field) "
        "scans the whole table under ACCESS EXCLUSIVE: no reads or writes.",
        "ADD CONSTRAINT ... CHECK (...) NOT VALID, then VALIDATE CONSTRAINT separately "
        "(SHARE UPDATE EXCLUSIVE).",
    ),
    "NOT_NULL": Advice(
        "A NOT NULL column without a database default makes every INSERT from the still-running "
        "old code fail; adding it with Django's default then DROP DEFAULT gives the same result.",
        "Two phases: add it nullable (or with db_default=), backfill in chunks, then enforce NOT "
        "NULL via a NOT VALID CHECK + VALIDATE (docs/migrations.md).",
    ),
    "SET_NOT_NULL": Advice(
        "SET NOT NULL holds ACCESS EXCLUSIVE while it scans the whole table, unless a validated "
        "CHECK (col IS NOT NULL) already proves it (PostgreSQL 12+).",
        "ADD CONSTRAINT ... CHECK (col IS NOT NULL) NOT VALID; VALIDATE CONSTRAINT; then SET NOT "
        "NULL (no scan) and drop the CHECK. Allow this finding with that reason.",
    ),
    "VOLATILE_DEFAULT": Advice(
        "A volatile default (clock_timestamp(), random(), gen_random_uuid(), serial/identity) "
        "forces a full table rewrite under ACCESS EXCLUSIVE.",
        "Add the column without a default (or with a constant one), backfill in chunks, then set "
        "the default for new rows.",
    ),
    "CONCURRENTLY_IN_ATOMIC": Advice(
        "CREATE/DROP INDEX CONCURRENTLY cannot run inside a transaction block: the migration fails "
        "at deploy time (and sqlmigrate refuses it).",
        "Put the concurrent operation in its own migration with atomic = False.",
    ),
    "ALTER_COLUMN": Advice(
        "ALTER COLUMN TYPE usually rewrites the table and its indexes under ACCESS EXCLUSIVE "
        "(binary-compatible changes such as a longer varchar do not).",
        "Add a new column, dual-write, backfill in chunks, switch reads, drop the old column; or "
        "allow the finding if the change is binary-compatible (say why).",
    ),
    "RENAME_COLUMN": Advice(
        "Renaming is instant in PostgreSQL but the running (old) code still uses the old name and "
        "fails until every process is replaced.",
        "Add the new column, dual-write, backfill, switch, then drop the old one in a later release.",
    ),
    "RENAME_TABLE": Advice(
        "Renaming is instant but breaks every running process that still uses the old name.",
        "Create the new table (or a view under the old name) and migrate in steps across releases.",
    ),
    "DROP_COLUMN": Advice(
        "Dropping takes ACCESS EXCLUSIVE (briefly) and breaks old code that still selects the "
        "column; the data is gone.",
        "First release: stop using the field (remove it from the model state with "
        "SeparateDatabaseAndState); next release: drop the column.",
    ),
    "DROP_TABLE": Advice(
        "Dropping takes ACCESS EXCLUSIVE and breaks old code still using the table; data is lost.",
        "Stop using the model in one release, drop the table in the next (after a verified backup).",
    ),
    "RUNPYTHON_REVERSIBLE": Advice(
        "A RunPython without reverse_code makes the migration (and everything after it) "
        "irreversible.",
        "Give it a reverse function (RunPython.noop when nothing must be undone), or allow "
        "RUNPYTHON_REVERSIBLE with the reason it cannot be reversed.",
    ),
    "RUNSQL_REVERSIBLE": Advice(
        "A RunSQL without reverse_sql makes the migration irreversible.",
        "Give it reverse_sql (migrations.RunSQL.noop when nothing must be undone), or allow "
        "RUNSQL_REVERSIBLE with the reason.",
    ),
    "RUNPYTHON_MODEL_IMPORT": Advice(
        "A data migration importing models uses today's model, not the historical one.",
        "Use apps.get_model('app_label', 'Model').",
    ),
    "RUNPYTHON_MODEL_VARIABLE_NAME": Advice(
        "The variable holding apps.get_model(...) has another name than the model: confusing.",
        "Name it after the model class.",
    ),
    "RUNPYTHON_ARGS_NAMING_CONVENTION": Advice(
        "RunPython functions receive (apps, schema_editor).",
        "Name the arguments apps, schema_editor.",
    ),
}


def advice_for(code: str) -> Advice:
    return ADVICE.get(code, Advice("See django-migration-linter's documentation.", "Review it."))
