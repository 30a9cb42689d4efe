from typing import Any

from django.contrib.auth import views as auth_views
from django.core.exceptions import NON_FIELD_ERRORS

from core.forms import ThrottledAuthenticationForm


class LoginView(auth_views.LoginView):
    """Django's login page, refusing logins past the failed-login limit with 429 and a message."""

    authentication_form = ThrottledAuthenticationForm

    def form_invalid(self, form: Any) -> Any:
        response = super().form_invalid(form)
        if form.has_error(NON_FIELD_ERRORS, code="throttled"):
            response.status_code = 429
        return response
