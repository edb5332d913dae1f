from django.db import models

from .context import get_current_organization


class OrganizationScopedQuerySet(models.QuerySet):
    def restrict(self, context=None):
        """Rows of the organization the code runs in: ``context``, else the current one.

        The current context is set for every API request (``HasOrganizationPermission``) and
        around every organization-scoped task (``ErpTask``), so services and tasks scope their
        queries without passing the organization along. Outside any context this raises: an
        unscoped query must be asked for explicitly (``.all()``), never by forgetting.
        """
        context = context or get_current_organization()
        if context is None:
            raise RuntimeError("restrict() needs an organization context (request or task).")
        return self.filter(organization_id=context.organization_id)
