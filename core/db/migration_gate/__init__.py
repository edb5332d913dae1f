"""The migration safety gate (``manage.py check_migrations`` / ``make check-migrations``).

- :mod:`.rules`: the SQL rules, built on django-migration-linter's PostgreSQL analyser plus the
  checks it lacks, each with the reason it is dangerous in PostgreSQL and the safe alternative;
- :mod:`.gate`: makemigrations --check, the leaf-conflict check, per-migration allowances and the
  ``--new-only`` selection of migrations that are not on the main branch.
"""
