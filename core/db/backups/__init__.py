"""Verified logical backups: ``pg_dump`` + MEDIA_ROOT archive + manifest (docs/backups.md)."""
