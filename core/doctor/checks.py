"""The core's doctor checks: postgres, redis, celery, backups, security (storage: the files app).

Each check reuses the readers that ``db_stats``, ``redis_stats``, ``celery_status``,
``list_backups`` and ``/health/ready/`` use; none has queries of its own beyond a rule's
setting (``SHOW``, ``INFO``). Registered by ``CoreConfig.ready()`` (``register_all``).
"""

from __future__ import annotations

import multiprocessing
import os
from datetime import UTC, datetime

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from core.registry import register_doctor_check

from . import FAIL, OK, WARN, Context, Finding

DOC_ROLES = "docs/database.md#roles-least-privilege"
DOC_CONNECTIONS = "docs/database.md#connections"
DOC_STATEMENTS = "docs/backups.md#enabling-pg_stat_statements-and-slow-query-logging"
DOC_DB_MONITORING = "docs/backups.md#monitoring-spec-17-database-management--maintenance"
DOC_BROKER = "docs/caching.md#production-a-separate-broker-instance"
DOC_REDIS_DOWN = "docs/caching.md#when-redis-is-down"
DOC_CELERY = "docs/celery.md#processes"
DOC_CELERY_MONITORING = "docs/celery.md#monitoring"
DOC_OUTBOX = "docs/celery.md#enqueue-only-after-commit-the-outbox"
DOC_DEAD_LETTERS = "docs/celery.md#retries-and-dead-letters"
DOC_BACKUPS = "docs/backups.md#nightly-backup--verify"
DOC_RETENTION = "docs/backups.md#retention"
DOC_SECURITY = "docs/operations.md#security-settings"


# --- postgres ----------------------------------------------------------------------------------


def postgres_checks(ctx: Context):
    from core.db import stats

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('statement_timeout', %s, true)", [str(stats.STATEMENT_TIMEOUT_MS)]
        )
        yield _pg_version()
        yield _pg_app_role(cursor)
        yield _pg_tls(ctx, cursor)
        yield _pg_statements(cursor, stats)
        yield _pg_autovacuum(ctx, cursor)
        yield _pg_xid_age(cursor, stats)
        yield _pg_replicas(cursor, stats)
        yield _pg_connections(ctx, cursor)


def _pg_version() -> Finding:
    major = connection.pg_version // 10000
    minimum = settings.MINIMUM_POSTGRES_VERSION
    if major < minimum:
        return Finding(
            "postgres.version",
            FAIL,
            f"PostgreSQL {major} is older than {minimum}",
            "Upgrade the server (pg_upgrade) or point DATABASE_URL at a newer one (docs/database.md).",
        )
    return Finding("postgres.version", OK, f"PostgreSQL {major} (>= {minimum})")


def _pg_app_role(cursor) -> Finding:
    cursor.execute(
        """
        SELECT r.rolname, r.rolsuper, r.rolcreatedb, r.rolcreaterole,
               has_database_privilege(current_database(), 'CREATE'),
               has_schema_privilege('public', 'CREATE'),
               pg_has_role(current_user, n.nspowner, 'USAGE'),
               (SELECT count(*) FROM pg_class c
                 WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'p', 'S', 'v', 'm')
                   AND pg_has_role(current_user, c.relowner, 'USAGE'))
        FROM pg_roles r, pg_namespace n
        WHERE r.rolname = current_user AND n.nspname = 'public'
        """
    )
    role, superuser, createdb, createrole, db_create, schema_create, schema_owner, owned = (
        cursor.fetchone()
    )
    problems = [
        text
        for flag, text in (
            (superuser, "is a superuser"),
            (createdb, "has CREATEDB"),
            (createrole, "has CREATEROLE"),
            (db_create, "may CREATE schemas in the database"),
            (schema_create, "may CREATE in schema public"),
            (schema_owner, "owns schema public"),
            (owned, f"owns {owned} table(s)/sequence(s) (can ALTER/DROP them)"),
        )
        if flag
    ]
    if problems:
        return Finding(
            "postgres.app_role",
            FAIL,
            f"the application role {role} {', '.join(problems)}",
            "Run web/workers as the least-privilege role provision_db creates (DATABASE_URL) and "
            f"migrate as the owner (DATABASE_OWNER_URL): {DOC_ROLES}",
        )
    return Finding("postgres.app_role", OK, f"{role}: not a superuser, no DDL rights")


def _pg_tls(ctx: Context, cursor) -> Finding:
    cursor.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    row = cursor.fetchone()
    on = bool(row and row[0])
    if on:
        return Finding("postgres.tls", OK, "the connection uses TLS")
    if not ctx.production:
        return Finding("postgres.tls", OK, "no TLS (not required outside production)")
    return Finding(
        "postgres.tls",
        FAIL,
        "the database connection is not encrypted",
        f"Enable ssl on the server and set DB_SSLMODE=verify-full + DB_SSLROOTCERT: {DOC_CONNECTIONS}",
    )


def _pg_statements(cursor, stats) -> Finding:
    if stats.slow_statements(cursor, limit=1) is None:
        return Finding(
            "postgres.pg_stat_statements",
            WARN,
            "pg_stat_statements is not available (no slow-statement statistics)",
            f"shared_preload_libraries = 'pg_stat_statements', then CREATE EXTENSION: {DOC_STATEMENTS}",
        )
    return Finding("postgres.pg_stat_statements", OK, "pg_stat_statements is available")


def _pg_autovacuum(ctx: Context, cursor) -> Finding:
    from core.db.stats import autovacuum_settings

    av = autovacuum_settings(cursor)
    on = av["enabled"]  # autovacuum picks tables from the statistics: track_counts too
    cursor.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'm', 'p') "
        "AND 'autovacuum_enabled=false' = ANY (c.reloptions) ORDER BY 1"
    )
    tables = [r[0] for r in cursor.fetchall()]
    if on and not tables:
        return Finding("postgres.autovacuum", OK, "autovacuum is on")
    what = ""
    if not av["autovacuum"]:
        what = "autovacuum is off on the server"
    elif not av["track_counts"]:
        what = "track_counts is off on the server: autovacuum never picks a table"
    if tables:
        what += ("; " if what else "") + f"off for table(s) {', '.join(tables[:5])}"
    return Finding(
        "postgres.autovacuum",
        ctx.rule(False),
        what,
        "Set autovacuum = on and track_counts = on (postgresql.conf) / ALTER TABLE ... RESET "
        "(autovacuum_enabled): "
        f"{DOC_DB_MONITORING}",
    )


def _pg_xid_age(cursor, stats) -> Finding:
    ages = stats.transaction_id_age(cursor)
    age, limit = ages["cluster_max"], settings.DOCTOR_XID_AGE_WARN
    message = f"oldest transaction-ID age {age:,} (warning line {limit:,}; wraparound ~2.1 billion)"
    if age >= limit:
        oldest = ", ".join(f"{t['table']} {t['xid_age']:,}" for t in stats.oldest_tables(cursor, 3))
        message += f"; oldest tables here: {oldest}"
    if age >= 2 * limit:
        return Finding(
            "postgres.xid_age",
            FAIL,
            message,
            f"VACUUM (FREEZE) the oldest tables now and check what blocks autovacuum: {DOC_DB_MONITORING}",
        )
    if age >= limit:
        return Finding(
            "postgres.xid_age",
            WARN,
            message,
            f"Check autovacuum progress and long transactions; VACUUM (FREEZE): {DOC_DB_MONITORING}",
        )
    return Finding("postgres.xid_age", OK, message)


def _pg_replicas(cursor, stats) -> Finding:
    rows = stats.replication(cursor)  # standbys of this primary, or this standby's delay
    if not rows:
        return Finding("postgres.replica_lag", OK, "no replicas configured")
    limit = settings.DOCTOR_REPLICA_LAG_WARN_SECONDS
    lags = {r["client"]: r["lag_seconds"] or 0.0 for r in rows}
    message = ", ".join(f"{client} {lag:.1f}s" for client, lag in sorted(lags.items()))
    if max(lags.values()) > limit:
        return Finding(
            "postgres.replica_lag",
            WARN,
            f"replica lag above {limit}s: {message}",
            f"Check the replica's I/O and network, and long queries on it: {DOC_DB_MONITORING}",
        )
    return Finding("postgres.replica_lag", OK, f"replica lag {message}")


def process_counts() -> dict[str, int]:
    """Processes that hold database connections, from the same variables make run's programs read."""
    cores = multiprocessing.cpu_count()
    return {
        "web": int(os.environ.get("WEB_CONCURRENCY") or max(2, cores * 2)),
        "worker": int(getattr(settings, "CELERY_WORKER_CONCURRENCY", None) or cores),
        "beat": 1,
    }


def _pg_connections(ctx: Context, cursor) -> Finding:
    config = settings.DATABASES["default"]
    pool = (config.get("OPTIONS") or {}).get("pool")
    per_process = int(pool.get("max_size") or 4) if isinstance(pool, dict) else 1
    counts = process_counts()
    # A web process also keeps one connection per readiness probe thread that touches the DB.
    needed = counts["web"] * (per_process + 1) + (counts["worker"] + counts["beat"]) * per_process
    cursor.execute(
        "SELECT current_setting('max_connections')::int, "
        "current_setting('superuser_reserved_connections')::int"
    )
    max_connections, reserved = cursor.fetchone()
    available = max_connections - reserved
    how = (
        f"pool max_size {per_process}"
        if pool
        else f"CONN_MAX_AGE {config.get('CONN_MAX_AGE')}s, one per process"
    )
    message = (
        f"{counts['web']} web + {counts['worker']} worker + 1 beat processes ({how}) need about "
        f"{needed} of {available} connections"
    )
    hint = (
        "Lower WEB_CONCURRENCY/CELERY_WORKER_CONCURRENCY or DB_POOL_MAX_SIZE, put PgBouncer in "
        f"front (DB_PGBOUNCER) or raise max_connections: {DOC_CONNECTIONS}"
    )
    if config.get("DISABLE_SERVER_SIDE_CURSORS"):  # behind PgBouncer: it holds the server side
        return Finding("postgres.connections", OK, f"behind PgBouncer; {message}")
    if needed > available:
        return Finding("postgres.connections", ctx.rule(False), message, hint)
    if needed > 0.8 * available:
        return Finding("postgres.connections", WARN, f"{message} (over 80%)", hint)
    if not pool and not config.get("CONN_MAX_AGE"):
        return Finding(
            "postgres.connections",
            WARN,
            "CONN_MAX_AGE is 0 without a pool: every request opens a connection",
            f"Set DB_CONN_MAX_AGE=60 (measured 2.5x faster) or DB_POOL=true: {DOC_CONNECTIONS}",
        )
    return Finding("postgres.connections", OK, message)


# --- redis -------------------------------------------------------------------------------------


def _redis_where(client) -> str:
    pool = client.connection_pool
    if hasattr(pool, "get_master_address"):  # redis.sentinel.SentinelConnectionPool
        try:
            host, port = pool.get_master_address()
        except Exception as exc:  # noqa: BLE001 - no master known: say so, the checks go on
            return f"Sentinel master {pool.service_name!r} (unknown: {type(exc).__name__})"
        return f"{host}:{port} (Sentinel master {pool.service_name!r})"
    kwargs = pool.connection_kwargs
    if "path" in kwargs:
        return f"unix:{kwargs['path']}"
    return f"{kwargs.get('host')}:{kwargs.get('port')}"


def redis_checks(ctx: Context):
    from core.celery_app import monitor
    from core.redis.stats import all_stats, is_redis

    # The broker: reachable, AOF on, noeviction: what celery_status/readiness read
    # (monitor.read_status: INFO persistence/memory on the broker's server).
    broker = monitor.broker_redis()
    where = _redis_where(broker)
    status = monitor.read_status()
    if not status.broker_ok:
        yield Finding(
            "redis.broker_reachable",
            FAIL,
            f"the broker Redis at {where} is unreachable: {status.broker_error}"[:300],
            f"Start Redis or fix CELERY_BROKER_URL/REDIS_BROKER_URL: {DOC_CELERY}",
        )
    else:
        yield Finding("redis.broker_reachable", OK, f"broker Redis {where} answers")
        aof = bool(status.broker_appendonly)
        yield Finding(
            "redis.broker_aof",
            ctx.rule(aof),
            f"broker Redis {where}: appendonly {'yes' if aof else 'no'}",
            "" if aof else f"Set appendonly yes (appendfsync everysec) on the broker: {DOC_BROKER}",
        )
        policy = status.broker_maxmemory_policy
        yield Finding(
            "redis.broker_noeviction",
            ctx.rule(policy == "noeviction"),
            f"broker Redis {where}: maxmemory-policy {policy}",
            ""
            if policy == "noeviction"
            else f"Set maxmemory-policy noeviction on the broker: {DOC_BROKER}",
        )
    for stats in all_stats():
        alias = stats.alias
        if not is_redis(alias):
            yield Finding(
                f"redis.cache_{alias}", OK, f"cache {alias}: {stats.backend} (in-process, no Redis)"
            )
            continue
        if not stats.reachable:
            yield Finding(
                f"redis.cache_{alias}",
                FAIL,
                f"cache {alias} unreachable: {stats.error}",
                f"Start Redis or fix REDIS_URL/REDIS_<ALIAS>_URL (the API falls back to the database meanwhile): {DOC_REDIS_DOWN}",
            )
            continue
        evicts = bool(stats.maxmemory_policy) and stats.maxmemory_policy != "noeviction"
        limit = f", maxmemory {stats.maxmemory}" if stats.maxmemory else ", no maxmemory"
        yield Finding(
            f"redis.cache_{alias}",
            ctx.rule(evicts),
            f"cache {alias}: reachable, maxmemory-policy {stats.maxmemory_policy}{limit}",
            ""
            if evicts
            else f"Give the cache server a maxmemory and maxmemory-policy volatile-lru: {DOC_BROKER}",
        )
    yield from sentinel_findings(ctx)


def sentinel_findings(ctx: Context):
    """Sentinel (REDIS_SENTINELS): every sentinel answers, names the master, and
    ``SENTINEL CKQUORUM`` holds (read by core.redis.sentinel.state, as readiness does)."""
    from core.redis import sentinel

    if not sentinel.configured():
        yield Finding("redis.sentinel", OK, "Sentinel not configured")
        return
    doc = "docs/caching.md#redis-sentinel"
    name = sentinel.master_name()
    current = sentinel.state()
    total = len(current.sentinels)
    all_up = current.reachable == total
    yield Finding(
        "redis.sentinel_reachable",
        OK if all_up else (FAIL if not current.reachable else ctx.rule(False)),
        f"{current.reachable}/{total} sentinels answer"
        + "".join(f"; {k}: {v}" for k, v in current.sentinels.items() if v != "ok"),
        "" if all_up else f"Start the sentinels or fix REDIS_SENTINELS: {doc}",
    )
    if current.master:
        yield Finding("redis.sentinel_master", OK, f"master {name!r} is {current.master}")
    else:
        yield Finding(
            "redis.sentinel_master",
            FAIL,
            f"no sentinel names a master {name!r}",
            f"Check REDIS_SENTINEL_MASTER against `sentinel monitor` in sentinel.conf: {doc}",
        )
    yield Finding(
        "redis.sentinel_quorum",
        OK if current.quorum_ok else FAIL,
        f"SENTINEL CKQUORUM {name}: {current.quorum or 'no sentinel answered'}"[:300],
        ""
        if current.quorum_ok
        else f"Start enough sentinels for the quorum (and a majority) to authorize a failover: {doc}",
    )


# --- celery ------------------------------------------------------------------------------------


def celery_checks(ctx: Context):
    from core.celery_app import monitor
    from core.outbox.services import outbox_backlog

    status = monitor.read_status()
    if not status.broker_ok:
        yield Finding(
            "celery.workers",
            FAIL,
            f"broker unreachable ({status.broker_error}): no worker can be asked",
            f"Start Redis or fix CELERY_BROKER_URL: {DOC_CELERY}",
        )
    else:
        yield _celery_workers(ctx, status)
        yield _celery_beat(status)
        yield _celery_queues(status)
    try:
        pending, oldest = outbox_backlog()
    except DatabaseError as exc:
        yield Finding("celery.outbox_backlog", FAIL, f"outbox unreadable: {exc}".splitlines()[0])
    else:
        limit = settings.OUTBOX_BACKLOG_MAX_AGE
        message = f"{pending} message(s) waiting" + (
            "" if oldest is None else f", oldest {oldest:.0f}s (limit {limit}s)"
        )
        late = oldest is not None and oldest > limit
        yield Finding(
            "celery.outbox_backlog",
            WARN if late else OK,
            message,
            f"Broker down or relay not scheduled? Check celery_status and beat: {DOC_OUTBOX}"
            if late
            else "",
        )
    yield from dead_letter_findings(ctx)


def _celery_workers(ctx: Context, status) -> Finding:
    if ctx.ping:
        from core.celery_app import app

        with app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
            replies = app.control.ping(timeout=ctx.ping_timeout, connection=conn) or []
        names = sorted(name for reply in replies for name in reply)
        how = "answer a ping"
    else:
        names = sorted(status.workers)
        how = f"sent a heartbeat in the last {settings.CELERY_WORKER_HEARTBEAT_MAX_AGE}s"
    if not names:
        return Finding(
            "celery.workers",
            FAIL,
            f"no worker {'answers a ping' if ctx.ping else 'heartbeat'}",
            f"Start one: celery -A config worker -l INFO (config/supervisord.conf): {DOC_CELERY}",
        )
    return Finding("celery.workers", OK, f"{len(names)} worker(s) {how}: {', '.join(names)[:200]}")


def _celery_beat(status) -> Finding:
    from core.celery_app.beat import beat_lock_status

    limit = settings.CELERY_BEAT_HEARTBEAT_MAX_AGE
    lock = beat_lock_status()
    if len(lock.dispatchers) > 1:
        return Finding(
            "celery.beat",
            FAIL,
            f"{len(lock.dispatchers)} beat processes dispatch ({', '.join(lock.dispatchers)}): "
            "periodic tasks may be sent more than once",
            "Every beat must use the lease (--scheduler core.celery_app.beat:DatabaseScheduler, "
            f"the default) and share one broker Redis; restart the beats: {DOC_CELERY}",
        )
    if status.beat_age is None or status.beat_age > limit:
        seen = "never" if status.beat_age is None else f"{status.beat_age:.0f}s ago"
        standby = f"; standing by: {', '.join(lock.standbys)}" if lock.standbys else ""
        return Finding(
            "celery.beat",
            FAIL,
            f"beat heartbeat last seen {seen} (limit {limit}s){standby}",
            f"Run a beat (one or more, one dispatches): celery -A config beat "
            f"(config/supervisord.conf): {DOC_CELERY}",
        )
    standbys = f", {len(lock.standbys)} standing by ({', '.join(lock.standbys)})"
    return Finding(
        "celery.beat",
        OK,
        f"beat lock held by {lock.holder or 'nobody'}, heartbeat {status.beat_age:.0f}s ago"
        + (standbys if lock.standbys else ", no standby"),
    )


def _celery_queues(status) -> Finding:
    limit = settings.DOCTOR_QUEUE_BACKLOG_MAX
    depths = {name: depth.ready for name, depth in status.queues.items()}
    message = ", ".join(f"{name} {n} ready" for name, n in depths.items()) or "no queues"
    over = {name: n for name, n in depths.items() if n > limit}
    if over:
        return Finding(
            "celery.queue_backlog",
            WARN,
            f"queue backlog over {limit}: {message}",
            f"Add workers or find the slow task (celery_status): {DOC_CELERY_MONITORING}",
        )
    return Finding("celery.queue_backlog", OK, f"{message} (limit {limit})")


def dead_letter_findings(ctx: Context):
    """``celery.dead_letters``: warn while tasks that gave up wait for an operator."""
    from core.outbox.dead_letters import dead_letter_summary

    try:
        count, oldest = dead_letter_summary()
    except DatabaseError as exc:
        yield Finding(
            "celery.dead_letters", FAIL, f"dead letters unreadable: {exc}".splitlines()[0]
        )
        return
    if not count:
        yield Finding("celery.dead_letters", OK, "no dead-lettered task")
        return
    yield Finding(
        "celery.dead_letters",
        WARN,
        f"{count} dead-lettered task(s) not re-sent, the oldest failed {oldest:.0f}s ago",
        "List them with `manage.py retry_dead_tasks`, fix the cause (SMTP down? bad data?), "
        f"then re-send with `manage.py retry_dead_tasks --all`: {DOC_DEAD_LETTERS}",
    )


# --- backups -----------------------------------------------------------------------------------


def backup_checks(ctx: Context):
    from core.db.backups.manifest import backup_root, list_sets
    from core.db.backups.services import free_bytes

    root = backup_root()
    sets = list_sets()
    newest = sets[0] if sets else None
    max_age_h = settings.DOCTOR_BACKUP_MAX_AGE_HOURS
    run = "Run `manage.py backup --verify` (beat runs it nightly)"
    if newest is None:
        yield Finding(
            "backups.newest",
            ctx.rule(False),
            f"no backup set in {root}",
            f"{run}: {DOC_BACKUPS}",
        )
    else:
        age_h = (datetime.now(UTC) - newest.created_at).total_seconds() / 3600
        fresh = age_h < max_age_h
        yield Finding(
            "backups.newest",
            ctx.rule(fresh),
            f"newest set {newest.id} is {age_h:.1f} h old (limit {max_age_h} h)",
            "" if fresh else f"Is the nightly backup running (beat, worker)? {run}: {DOC_BACKUPS}",
        )
    verification = newest.verification if newest else None
    if verification and verification.get("status") == "ok":
        yield Finding(
            "backups.verified",
            OK,
            f"{newest.id} verified {verification.get('verified_at', '')[:19]}",
        )
    elif verification:
        yield Finding(
            "backups.verified",
            FAIL,
            f"the verification of {newest.id} failed: {verification.get('error', '')}"[:300],
            f"Read the error, fix, then `manage.py verify_backup latest`: {DOC_BACKUPS}",
        )
    else:
        yield Finding(
            "backups.verified",
            ctx.rule(False),
            f"{newest.id} was never verified" if newest else "no backup set to verify",
            f"`manage.py verify_backup latest` (or backup --verify): {DOC_BACKUPS}",
        )
    rto = (verification or {}).get("rto_seconds")
    if rto is not None:
        yield Finding("backups.rto", OK, f"RTO of {newest.id}: {rto}s (restore time)")
    else:
        yield Finding(
            "backups.rto",
            ctx.rule(False),
            "no RTO recorded (no verified set)",
            f"Verifying a set records its restore time: {DOC_BACKUPS}",
        )
    keep_last, keep_days = settings.BACKUP_KEEP_LAST, settings.BACKUP_KEEP_DAYS
    yield Finding(
        "backups.retention",
        ctx.rule(keep_last > 0 and keep_days > 0),
        f"keep the last {keep_last} sets / {keep_days} days",
        "" if keep_last > 0 and keep_days > 0 else f"Set BACKUP_KEEP_LAST/_DAYS: {DOC_RETENTION}",
    )
    if newest is not None:
        needed, basis = newest.size, f"the newest set ({newest.size:,} bytes)"
    else:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database())")
            needed = cursor.fetchone()[0]
        basis = f"the database ({needed:,} bytes)"
    needed += settings.BACKUP_FREE_SPACE_MARGIN_BYTES
    free = free_bytes(root)
    room = free >= needed
    yield Finding(
        "backups.free_space",
        OK if room else FAIL,
        f"{free:,} bytes free in {root}; another set needs about {needed:,} ({basis} + margin)",
        "" if room else f"Free space, prune (BACKUP_KEEP_LAST) or move BACKUP_DIR: {DOC_RETENTION}",
    )


# --- security ----------------------------------------------------------------------------------

# The same rule config.settings.prod enforces at start-up (core can't import settings modules).
INSECURE_KEY_MARKERS = ("insecure", "dev-", "test-", "change-me", "changeme", "secret")


def weak_secret_key(key: str) -> bool:
    return (
        len(key) < 50
        or len(set(key)) < 5
        or any(marker in key.lower() for marker in INSECURE_KEY_MARKERS)
    )


def security_checks(ctx: Context):
    from django.urls import reverse

    admin_url = reverse("admin:index")
    if not ctx.production:
        yield Finding(
            "security.production_settings",
            OK,
            "development (DOCTOR_PRODUCTION off): DEBUG/SECRET_KEY/HTTPS rules not applied",
        )
        yield Finding("security.admin_url", OK, f"the admin is served at {admin_url}")
        return
    hint = f"Use config.settings.prod and set the variable: {DOC_SECURITY}"
    yield Finding(
        "security.debug",
        FAIL if settings.DEBUG else OK,
        f"DEBUG is {'on' if settings.DEBUG else 'off'}",
        "DEBUG=false" if settings.DEBUG else "",
    )
    weak = weak_secret_key(settings.SECRET_KEY)
    yield Finding(
        "security.secret_key",
        FAIL if weak else OK,
        "SECRET_KEY is short or a known default" if weak else "SECRET_KEY looks strong",
        f"Generate one (get_random_secret_key) and set SECRET_KEY: {DOC_SECURITY}" if weak else "",
    )
    hosts = [h for h in settings.ALLOWED_HOSTS if h]
    yield Finding(
        "security.allowed_hosts",
        FAIL if not hosts or "*" in hosts else OK,
        f"ALLOWED_HOSTS = {', '.join(hosts) or '(empty)'}",
        f"ALLOWED_HOSTS=erp.example.com: {DOC_SECURITY}" if not hosts or "*" in hosts else "",
    )
    https = {
        "SECURE_SSL_REDIRECT": bool(getattr(settings, "SECURE_SSL_REDIRECT", False)),
        "SECURE_HSTS_SECONDS": bool(getattr(settings, "SECURE_HSTS_SECONDS", 0)),
        "SESSION_COOKIE_SECURE": bool(getattr(settings, "SESSION_COOKIE_SECURE", False)),
        "CSRF_COOKIE_SECURE": bool(getattr(settings, "CSRF_COOKIE_SECURE", False)),
    }
    off = [name for name, on in https.items() if not on]
    yield Finding(
        "security.https",
        FAIL if off else OK,
        f"off: {', '.join(off)}" if off else "HTTPS redirect, HSTS and secure cookies are on",
        hint if off else "",
    )
    yield Finding(
        "security.metrics_token",
        OK if settings.METRICS_TOKEN else FAIL,
        "METRICS_TOKEN is set" if settings.METRICS_TOKEN else "/metrics is open: no METRICS_TOKEN",
        ""
        if settings.METRICS_TOKEN
        else f"Set METRICS_TOKEN (scrapers send it as Bearer): {DOC_SECURITY}",
    )
    yield Finding(
        "security.admin_url",
        OK,
        f"the admin is served at {admin_url}"
        + (" (the default path: expect scans)" if admin_url == "/admin/" else ""),
    )


def register_all() -> None:
    register_doctor_check("postgres", postgres_checks, section="postgres")
    register_doctor_check("redis", redis_checks, section="redis")
    register_doctor_check("celery", celery_checks, section="celery")
    register_doctor_check("backups", backup_checks, section="backups")
    register_doctor_check("security", security_checks, section="security")
