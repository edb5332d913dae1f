from django.apps import AppConfig


class OrganizationConfig(AppConfig):
    name = "api.v1.base_models.organization"
    label = "organizations"
    verbose_name = "Organizations"
