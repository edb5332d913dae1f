"""The organization, membership and role models, named by settings (like ``AUTH_USER_MODEL``).

``core`` never imports ``api``: it asks Django's app registry for the models the settings name
(``ERP_ORGANIZATION_MODEL``, ``ERP_MEMBERSHIP_MODEL``, ``ERP_ROLE_MODEL``).
"""

from django.apps import apps
from django.conf import settings


def get_organization_model():
    return apps.get_model(settings.ERP_ORGANIZATION_MODEL, require_ready=False)


def get_membership_model():
    return apps.get_model(settings.ERP_MEMBERSHIP_MODEL, require_ready=False)


def get_role_model():
    return apps.get_model(settings.ERP_ROLE_MODEL, require_ready=False)
