from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from core.api.fields import StrictCharField, StrictSlugField
from core.api.serializers import FastModelSerializer

from .models import Membership, Organization


class OrganizationSerializer(FastModelSerializer):
    slug = StrictSlugField(
        max_length=100,
        validators=[
            UniqueValidator(
                queryset=Organization.objects.all(),
                message="An organization with this slug exists.",
            )
        ],
    )
    role = serializers.SerializerMethodField()

    class Meta:
        model = Organization
        fields = ["id", "name", "slug", "role", "created_at"]
        read_only_fields = ["id", "created_at"]

    def get_role(self, organization) -> str | None:
        return getattr(organization, "caller_role", None)


class MemberSerializer(FastModelSerializer):
    username = serializers.CharField(source="user.username", max_length=150)
    role = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = Membership
        fields = ["username", "role", "created_at"]
        read_only_fields = ["created_at"]


class MemberCreateSerializer(serializers.Serializer):
    username = StrictCharField(max_length=150)
    role = StrictCharField(max_length=50)


class MemberUpdateSerializer(serializers.Serializer):
    role = StrictCharField(max_length=50)
