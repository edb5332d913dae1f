from django.db import models


class OrganizationScopedQuerySet(models.QuerySet):
    def for_organization(self, organization):
        """Rows of ``organization`` only (an Organization instance or its id)."""
        organization_id = getattr(organization, "pk", organization)
        return self.filter(organization_id=organization_id)
