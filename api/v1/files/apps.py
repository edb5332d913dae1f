from django.apps import AppConfig


class FilesConfig(AppConfig):
    name = "api.v1.files"
    label = "files"
    verbose_name = "Files"
