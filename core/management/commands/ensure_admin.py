"""Create the admin user once: credentials from WINNOW_ADMIN_USER / WINNOW_ADMIN_PASSWORD, or a
generated password printed this one time."""

import os
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from core.cli import WinnowCommand
from core.roles import Role, roles_ensure, user_role_assign


class Command(WinnowCommand):
    help = "Create the admin user if it does not exist (idempotent)."

    def run(self, **options: Any) -> dict[str, Any]:
        roles_ensure()
        username = os.environ.get("WINNOW_ADMIN_USER", "admin")
        user_model = get_user_model()
        user = user_model.objects.filter(username=username).first()
        if user is not None:
            return {"user": username, "created": False}
        password = os.environ.get("WINNOW_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        try:  # create_superuser() skips AUTH_PASSWORD_VALIDATORS; a chosen password must pass them too
            validate_password(password, user_model(username=username))
        except ValidationError as exc:
            raise CommandError(f"WINNOW_ADMIN_PASSWORD is refused: {' '.join(exc.messages)}")
        user = user_model.objects.create_superuser(username=username, email="", password=password)
        user_role_assign(user=user, role=Role.ADMIN)
        if "WINNOW_ADMIN_PASSWORD" not in os.environ:
            self.stdout.write(f"Created admin user '{username}' with password: {password}")
            self.stdout.write("(shown once; change it with: .venv/bin/python manage.py changepassword admin)")
        return {"user": username, "created": True}
