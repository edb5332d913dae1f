from django.db import models


class ExportKind(models.TextChoices):
    PRODUCTS = "products", "Products"
    ORDERS = "orders", "Orders"


class ExportFormat(models.TextChoices):
    CSV = "csv", "CSV"


class ExportStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
