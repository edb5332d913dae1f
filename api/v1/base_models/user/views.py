from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, permissions, serializers
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.response import Response
from rest_framework.views import APIView

from .serializers import MeSerializer, UserCreateSerializer


class TokenView(ObtainAuthToken):
    """POST username + password → ``{"token": ...}``; send it as ``Authorization: Token <token>``."""

    @extend_schema(
        request=inline_serializer(
            "TokenRequest",
            {"username": serializers.CharField(), "password": serializers.CharField()},
        ),
        responses={200: inline_serializer("TokenResponse", {"token": serializers.CharField()})},
        auth=[],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


class MeView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        user = request.user
        memberships = user.memberships.order_by("organization__slug").values_list(
            "organization__slug", "role__name"
        )
        return Response(
            {
                "username": user.username,
                "email": user.email,
                "memberships": [{"organization": slug, "role": role} for slug, role in memberships],
            }
        )


class UserCreateView(generics.CreateAPIView):
    """Create a user account. Staff only."""

    permission_classes = [permissions.IsAuthenticated, permissions.IsAdminUser]
    serializer_class = UserCreateSerializer
