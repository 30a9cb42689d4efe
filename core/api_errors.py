"""Structured API errors: every error body is {"error": {"code", "message", "details"}}."""

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class ApplicationError(Exception):
    """A business rule refused the operation; services raise it, APIs map it to 400/409."""

    def __init__(self, message: str, *, code: str = "invalid", status_code: int = 400, details: Any = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status_code = status_code
        self.details = details


def not_found(kind: str, object_id: int) -> ApplicationError:
    """The 404 of an unknown id: `not_found("Version", 7)` says "Version 7 does not exist."."""
    return ApplicationError(f"{kind} {object_id} does not exist.", code="not_found", status_code=404)


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. not_found, invalid_filter.")
    message = serializers.CharField(help_text="Human-readable explanation.")
    details = serializers.JSONField(allow_null=True, help_text="Code-specific details, or null.")


class ErrorOutputSerializer(serializers.Serializer):
    """The body of every API error."""

    error = ErrorBodySerializer()


def error_response(description: str) -> OpenApiResponse:
    """An error response for `extend_schema(responses=...)`: the structured body, with what the codes mean."""
    return OpenApiResponse(ErrorOutputSerializer, description=description)


def _error(code: str, message: str, status_code: int, details: Any = None) -> Response:
    return Response({"error": {"code": code, "message": message, "details": details}}, status=status_code)


def structured_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, ApplicationError):
        response = _error(exc.code, exc.message, exc.status_code, exc.details)
        if exc.status_code == 429 and isinstance(exc.details, dict) and "retry_after" in exc.details:
            response["Retry-After"] = str(exc.details["retry_after"])
        return response
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    handled = exception_handler(exc, context)
    if handled is None:
        return None
    response = handled
    if isinstance(exc, exceptions.ValidationError):
        return _error("validation_error", "The request payload is invalid.", response.status_code, response.data)
    code = getattr(exc, "default_code", "error")
    if isinstance(exc, exceptions.APIException):
        detail = exc.detail
        message = str(detail) if not isinstance(detail, (dict, list)) else "Request failed."
        codes = exc.get_codes()
        if isinstance(codes, str):
            code = codes
        resp = _error(code, message, response.status_code)
        for header in ("WWW-Authenticate", "Retry-After", "Allow"):
            if header in response:
                resp[header] = response[header]
        return resp
    return _error(code, "Request failed.", status.HTTP_400_BAD_REQUEST)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: a URL that matches no route answers a structured JSON 404 under /api/ (a path id
    that is not a number, say), and Django's page elsewhere."""
    if request.path.startswith("/api/"):
        body = {"error": {"code": "not_found", "message": f"No API endpoint at {request.path}.", "details": None}}
        return JsonResponse(body, status=404)
    return defaults.page_not_found(request, exception)
