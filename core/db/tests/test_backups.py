"""Backups on the real PostgreSQL: backup → verify → restore, bad inputs, retention."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from api.v1.catalog.products.tests.factories import ProductFactory
from api.v1.sales.orders import services as orders
from core.db import server
from core.db.backups import services
from core.db.backups.manifest import BackupSet, checksum_files, list_sets
from core.db.tasks import nightly_backup

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("backups"),  # set ids are per second: keep these on one worker
]

ORDERS_CHECKSUM = "SELECT count(*), md5(string_agg(o::text, '|' ORDER BY o.id)) FROM orders_order o"


@pytest.fixture
def backup_dir(tmp_path, settings):
    settings.BACKUP_DIR = tmp_path / "backups"
    settings.BACKUP_FREE_SPACE_MARGIN_BYTES = 0
    return settings.BACKUP_DIR


@pytest.fixture
def shop(org, settings):
    product = ProductFactory(organization=org, stock=100)
    for quantity in (1, 2, 3, 4):
        orders.place_order(
            organization_id=org.pk,
            user_id=None,
            lines=[orders.LineRequest(product.pk, quantity)],
            metadata={"q": quantity},
        )
    media = Path(settings.MEDIA_ROOT)
    (media / "invoices").mkdir(parents=True)
    (media / "invoices" / "1.pdf").write_bytes(b"%PDF-1.4 invoice one")
    return org


def _query(dbname: str, query: str):
    with server.admin_endpoint().connect(dbname) as conn:
        return conn.execute(query).fetchone()


def _live() -> str:
    return connection.settings_dict["NAME"]


def test_backup_verify_restore_roundtrip(shop, backup_dir, scratch_db, tmp_path, capsys):
    call_command("backup", "--verify")
    (backup_set,) = list_sets()
    manifest = backup_set.manifest
    assert manifest["row_counts"]["public.orders_order"] == 4
    assert "orders.0006_order_number_unique" in manifest["applied_migrations"]
    assert {"media.tar.gz", "db.dump/toc.dat"} <= set(manifest["files"])
    assert all(len(f["sha256"]) == 64 for f in manifest["files"].values())
    assert manifest["verification"]["status"] == "ok"
    assert manifest["verification"]["row_count_mismatches"] == {}
    assert manifest["verification"]["pending_migrations"] == []

    capsys.readouterr()
    call_command("list_backups")
    listing = capsys.readouterr().out.splitlines()
    assert listing[1].split()[0] == backup_set.id and "ok" in listing[1]

    target = scratch_db()
    call_command("restore", "latest", "--target-db", target, "--media-to", str(tmp_path / "m"))
    assert _query(target, ORDERS_CHECKSUM) == _query(_live(), ORDERS_CHECKSUM)
    assert _query(target, ORDERS_CHECKSUM)[0] == 4
    assert (tmp_path / "m" / "invoices" / "1.pdf").read_bytes() == b"%PDF-1.4 invoice one"
    # Restoring again over the now non-empty target needs --force, which replaces it.
    with pytest.raises(CommandError, match="not empty"):
        call_command("restore", backup_set.id, "--target-db", target)
    with server.admin_endpoint().connect(target) as conn:
        conn.execute("DELETE FROM orders_orderline")
        conn.execute("DELETE FROM orders_order")
    call_command("restore", backup_set.id, "--target-db", target, "--force")
    assert _query(target, ORDERS_CHECKSUM)[0] == 4


def test_backup_and_restore_through_multi_host_urls(shop, backup_dir, scratch_db, settings):
    """BACKUP_DATABASE_URL / BACKUP_ADMIN_URL in libpq multi-host form (a dead host first):
    pg_dump and pg_restore get every host and target_session_attrs through --dbname."""
    from core.testing.ports import free_port

    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    url = (
        f"postgres://{auth}@127.0.0.1:{free_port()},{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/ignored?target_session_attrs=read-write"
    )
    settings.BACKUP_DATABASE_URL = settings.BACKUP_ADMIN_URL = url
    assert "target_session_attrs=read-write" in server.dump_endpoint().dbname_arg()
    backup_set = services.create_backup(verify=True)
    assert backup_set.manifest["verification"]["status"] == "ok"
    target = scratch_db()
    call_command("restore", backup_set.id, "--target-db", target)
    assert _query(target, ORDERS_CHECKSUM) == _query(_live(), ORDERS_CHECKSUM)


def test_unknown_backup_id(backup_dir):
    with pytest.raises(CommandError, match="Unknown backup id 'nope'"):
        call_command("restore", "nope", "--target-db", "erp_never_created")
    with pytest.raises(CommandError, match="No backup set"):
        call_command("verify_backup", "latest")
    assert not server.database_exists("erp_never_created")


def _one_set() -> BackupSet:
    services.create_backup()
    return list_sets()[0]


def test_checksum_mismatch_refuses_before_touching_anything(shop, backup_dir, scratch_db):
    backup_set = _one_set()
    toc = backup_set.path / "db.dump" / "toc.dat"
    data = bytearray(toc.read_bytes())
    data[-1] ^= 0xFF
    toc.write_bytes(bytes(data))
    target = scratch_db()
    with pytest.raises(CommandError, match="checksum mismatch"):
        call_command("restore", backup_set.id, "--target-db", target)
    assert not server.database_exists(target)
    with pytest.raises(CommandError, match="corrupted"):
        call_command("verify_backup", backup_set.id)
    assert list_sets()[0].verification["status"] == "failed"


def test_truncated_dump_fails_and_leaves_no_database(shop, backup_dir, scratch_db):
    backup_set = _one_set()
    # Truncate the largest data file and make the manifest agree, as if it was dumped that way.
    biggest = max((backup_set.path / "db.dump").glob("*.dat.gz"), key=lambda p: p.stat().st_size)
    biggest.write_bytes(biggest.read_bytes()[: biggest.stat().st_size // 2])
    backup_set.manifest["files"] = checksum_files(backup_set.path)
    backup_set.save()
    target = scratch_db()
    # Either pg_restore fails on the cut gzip stream, or (cut at a row boundary) it "succeeds"
    # with fewer rows, which the row-count check against the manifest catches.
    with pytest.raises(
        CommandError, match="pg_restore of backup .* failed|differ from the manifest"
    ):
        call_command("restore", backup_set.id, "--target-db", target)
    assert not server.database_exists(target)
    staging = f"restore_{backup_set.id.lower().replace('-', '_')}_%"
    assert _query(
        "postgres", f"SELECT count(*) FROM pg_database WHERE datname LIKE '{staging}'"
    ) == (0,)
    with pytest.raises(CommandError, match="Verification .* failed"):
        call_command("verify_backup", backup_set.id)


def test_wrong_database_is_refused_and_live_untouched(shop, backup_dir):
    backup_set = _one_set()
    before = _query(_live(), ORDERS_CHECKSUM)
    with pytest.raises(CommandError, match="not empty: refusing"):
        call_command("restore", backup_set.id)  # default target: the live database
    backup_set.manifest["app"] = "someone-else"
    backup_set.save()
    with pytest.raises(CommandError, match="not an ERP Core backup"):
        call_command("restore", backup_set.id, "--target-db", _live(), "--force")
    assert _query(_live(), ORDERS_CHECKSUM) == before


def test_insufficient_disk_writes_nothing(shop, backup_dir, monkeypatch):
    monkeypatch.setattr(services, "free_bytes", lambda path: 1024)
    with pytest.raises(CommandError, match="Not enough free space"):
        call_command("backup")
    assert list_sets() == []
    # Nothing but the (empty) lock file that serializes backups.
    assert [p.name for p in backup_dir.iterdir()] == [".backup.lock"]


def _fake_set(root: Path, set_id: str, created_at: datetime) -> None:
    path = root / set_id
    path.mkdir(parents=True)
    (path / "manifest.json").write_text(
        json.dumps({"id": set_id, "created_at": created_at.isoformat(), "files": {}})
    )


@pytest.mark.parametrize(
    ("keep_last", "keep_days", "expected_kept"),
    [
        (3, 0, ["d0", "d1", "d2"]),
        (1, 10, ["d0", "d1", "d2", "d9"]),
        (2, 3, ["d0", "d1", "d2"]),
        (0, 0, ["d0"]),  # the newest set is never deleted
    ],
)
def test_retention_deletes_exactly_what_the_policy_says(
    backup_dir, settings, keep_last, keep_days, expected_kept
):
    now = datetime(2026, 11, 26, 12, tzinfo=UTC)
    for days in (0, 1, 2, 9, 40):
        _fake_set(backup_dir, f"d{days}", now - timedelta(days=days, hours=1))
    settings.BACKUP_KEEP_LAST, settings.BACKUP_KEEP_DAYS = keep_last, keep_days
    deleted = services.apply_retention(now=now)
    kept = [s.id for s in list_sets()]
    assert kept == expected_kept
    assert sorted(deleted) == sorted({"d0", "d1", "d2", "d9", "d40"} - set(expected_kept))


def test_restore_with_fewer_rows_than_the_manifest_is_refused(shop, backup_dir, scratch_db):
    backup_set = _one_set()
    backup_set.manifest["row_counts"]["public.orders_order"] = 5  # the dump holds 4
    backup_set.save()
    target = scratch_db()
    with pytest.raises(CommandError, match="differ from the manifest"):
        call_command("restore", backup_set.id, "--target-db", target)
    assert not server.database_exists(target)


def test_run_nightly_backup_backs_up_verifies_and_prunes(shop, backup_dir, settings):
    settings.BACKUP_KEEP_LAST, settings.BACKUP_KEEP_DAYS = 1, 0
    first = services.run_nightly_backup()
    # The second one through the Celery task beat schedules ("erp: nightly backup").
    outcome = nightly_backup.apply()
    assert outcome.successful(), outcome.traceback
    second = outcome.result
    assert first["status"] == second["status"] == "ok"
    assert second["rto_seconds"] >= 0
    assert [s.id for s in list_sets()] == [second["id"]]  # retention removed the first


def test_a_second_concurrent_backup_is_refused(shop, backup_dir):
    with services.backup_lock(backup_dir):
        with pytest.raises(services.BackupError, match="Another backup is running"):
            services.create_backup()
    assert list_sets() == []
