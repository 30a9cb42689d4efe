from typing import Any

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from core.login_throttle import client_ip, login_failure_record, login_refusal, login_success_record


class LoginLimitMixin:
    """For a Django authentication form: the failed-login limit shared with /api/auth/token/ (core.login_throttle)."""

    cleaned_data: dict[str, Any]
    request: Any

    def clean(self) -> dict[str, Any]:
        username, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if not (username and password):
            return super().clean()  # type: ignore[misc]
        ip = client_ip(self.request) if self.request is not None else ""
        refusal = login_refusal(ip=ip, username=username)
        if refusal is not None:
            raise ValidationError(refusal.message, code="throttled")
        try:
            cleaned = super().clean()  # type: ignore[misc]
        except ValidationError:
            login_failure_record(ip=ip, username=username)
            raise
        login_success_record(username=username)
        return cleaned


class ThrottledAuthenticationForm(LoginLimitMixin, AuthenticationForm):
    """The login page's form."""


class ThrottledAdminAuthenticationForm(LoginLimitMixin, AdminAuthenticationForm):
    """Django admin's login form (staff only), under the same limit."""
