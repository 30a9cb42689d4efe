from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.roles import user_capabilities, user_roles


class TokenOutputSerializer(serializers.Serializer):
    token = serializers.CharField()


class TokenObtainApi(APIView):
    """Exchange a username and password for an API token."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        request=AuthTokenSerializer,
        responses={
            200: TokenOutputSerializer,
            400: OpenApiResponse(OpenApiTypes.OBJECT, description="validation_error: wrong or missing credentials."),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        token, _ = Token.objects.get_or_create(user=serializer.validated_data["user"])
        return Response({"token": token.key})


class MeOutputSerializer(serializers.Serializer):
    username = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    capabilities = serializers.ListField(child=serializers.CharField())


class MeApi(APIView):
    """Who the caller is and what their role allows."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses={
            200: MeOutputSerializer,
            401: OpenApiResponse(OpenApiTypes.OBJECT, description="Not authenticated."),
            403: OpenApiResponse(OpenApiTypes.OBJECT, description="Not authenticated (session without token)."),
        }
    )
    def get(self, request: Request) -> Response:
        user: Any = request.user
        return Response(
            {
                "username": user.get_username(),
                "roles": sorted(r.value for r in user_roles(user)),
                "capabilities": sorted(c.value for c in user_capabilities(user)),
            }
        )
