"""Demo data of the organizations module: acme and globex, one user of each built-in role."""

from core.permissions.enums import RoleName

from .models import Membership, Organization, Role

ORGANIZATIONS = {"acme": "Acme Corporation", "globex": "Globex Inc."}


def load_demo(demo) -> None:
    roles = {role.name: role for role in Role.objects.all()}
    for slug, name in ORGANIZATIONS.items():
        organization, _ = Organization.objects.get_or_create(slug=slug, defaults={"name": name})
        demo.organizations[slug] = organization
        for role in RoleName:
            username = f"{slug}-{role}"
            user = demo.user(username, email=f"{username}@example.com")
            Membership.objects.get_or_create(
                user=user, organization=organization, defaults={"role": roles[role]}
            )
            demo.login(username, organization=slug, role=role)
