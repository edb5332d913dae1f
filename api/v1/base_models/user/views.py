from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in, user_logged_out
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from knox.models import AuthToken
from knox.settings import knox_settings
from rest_framework import generics, permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.throttling import LoginIPThrottle, LoginUsernameThrottle

from .authentication import CachedTokenAuthentication
from .serializers import MeSerializer, UserCreateSerializer


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"})


class TokenView(APIView):
    """POST username + password → ``{"token", "expires_at"}``; send the token as
    ``Authorization: Token <token>``. Each login creates a new token (django-rest-knox: only its
    digest is stored), valid ``TOKEN_TTL`` seconds. Failed attempts are throttled per username
    and per IP address (429 with ``Retry-After``; ``core.api.throttling``)."""

    authentication_classes = []
    permission_classes = [permissions.AllowAny]
    throttle_classes = [LoginUsernameThrottle, LoginIPThrottle]

    @extend_schema(
        request=TokenRequestSerializer,
        responses={
            200: inline_serializer(
                "TokenResponse",
                {"token": serializers.CharField(), "expires_at": serializers.DateTimeField()},
            ),
            400: OpenApiResponse(description="Missing fields or wrong username/password."),
            429: OpenApiResponse(description="Too many failed attempts; see Retry-After."),
        },
        auth=[],
    )
    def post(self, request, *args, **kwargs):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(
            request=request._request,
            username=serializer.validated_data["username"],
            password=serializer.validated_data["password"],
        )
        if user is None or not user.is_active:
            for throttle in self.get_throttles():
                throttle.record_failure(request)
            return Response(
                {"non_field_errors": ["Unable to log in with provided credentials."]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        instance, token = AuthToken.objects.create(user=user, expiry=knox_settings.TOKEN_TTL)
        user_logged_in.send(sender=user.__class__, request=request._request, user=user)
        expires_at = serializers.DateTimeField().to_representation(instance.expiry)
        return Response({"token": token, "expires_at": expires_at})


class LogoutView(APIView):
    """Revoke the token this request presents (204); it gets 401 afterwards. Other tokens of the
    user (other devices) stay valid."""

    authentication_classes = [CachedTokenAuthentication]
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    def post(self, request, *args, **kwargs):
        request.auth.delete()  # post_delete invalidates the cached lookup (apps.py)
        user_logged_out.send(
            sender=request.user.__class__, request=request._request, user=request.user
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


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
