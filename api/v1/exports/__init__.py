"""Data exports: CSV files of an organization's products or orders, built by a Celery task."""
