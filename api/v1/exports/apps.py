from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "api.v1.exports"
    label = "exports"
    verbose_name = "Exports"
