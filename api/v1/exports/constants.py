from django.db import models


class ExportFormat(models.TextChoices):
    CSV = "csv", "CSV"


class ExportStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
