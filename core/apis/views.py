from typing import Any

from django.contrib.auth.views import redirect_to_login
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularSwaggerView
from rest_framework import exceptions
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.apis.serializers import (
    MeOutputSerializer,
    TokenOutputSerializer,
    TokenRevokeOutputSerializer,
)
from core.login_throttle import client_ip, login_failure_record, login_refusal, login_success_record
from core.roles import user_capabilities, user_roles
from core.tokens import token_issue, token_revoke


class TokenObtainApi(APIView):
    """Exchange a username and password for an API token (the same one until revoked or the password changes).

    Failed attempts count towards the login limit shared with the login page (core.login_throttle).
    """

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        request=AuthTokenSerializer,
        responses={
            200: TokenOutputSerializer,
            400: OpenApiResponse(OpenApiTypes.OBJECT, description="validation_error: wrong or missing credentials."),
            429: OpenApiResponse(OpenApiTypes.OBJECT, description="throttled: too many failed logins (Retry-After)."),
        },
    )
    def post(self, request: Request) -> Response:
        data = request.data if isinstance(request.data, dict) else {}
        ip, username = client_ip(request), str(data.get("username", ""))
        refusal = login_refusal(ip=ip, username=username)
        if refusal is not None:
            raise exceptions.Throttled(wait=refusal.retry_after, detail=refusal.message)
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        if not serializer.is_valid():
            if username and data.get("password") and "non_field_errors" in serializer.errors:  # no such user/password
                login_failure_record(ip=ip, username=username)
            raise exceptions.ValidationError(serializer.errors)
        login_success_record(username=username)
        return Response({"token": token_issue(user=serializer.validated_data["user"]).key})


class TokenRevokeApi(APIView):
    """Delete the caller's API token: requests with it get 401 from now on; obtain a new one to continue."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None,
        responses={
            200: TokenRevokeOutputSerializer,
            401: OpenApiResponse(OpenApiTypes.OBJECT, description="Not authenticated."),
            403: OpenApiResponse(OpenApiTypes.OBJECT, description="Not authenticated (session without token)."),
        },
    )
    def post(self, request: Request) -> Response:
        user: Any = request.user
        return Response({"revoked": token_revoke(user=user)})


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


class ApiDocsView(SpectacularSwaggerView):
    """Swagger UI; where API_DOCS_PUBLIC is off, an anonymous visitor is sent to the login page."""

    def handle_exception(self, exc: Exception) -> Any:
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            return redirect_to_login(self.request.get_full_path())
        return super().handle_exception(exc)
