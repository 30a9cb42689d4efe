"""The signed-in user of a session and their roles in one statement (AUTHENTICATION_BACKENDS).

Every page and every session call of the API needs the user and their roles (the navigation, the permission checks):
through ModelBackend that was one statement for the user, then one for their groups (core.roles.user_roles). This
backend reads the user and their groups' names in one statement whose text is fixed (as the token authentication
reads the token, its user and their roles: core/tokens.py). The rest is Django's own: django.contrib.auth.get_user
reads the session (its expiry included) and compares the session's auth hash with this user's (a password change
signs the user's other sessions out, a session that fails it is flushed); logout flushes the session; an inactive
user is refused here as ModelBackend refuses them; a superuser holds every capability (core.roles.user_roles). Roles
are read with the user on every request, never kept from one request to the next. Logins are ModelBackend's.

A session signed in before this backend was configured names ModelBackend, no longer in AUTHENTICATION_BACKENDS:
Django treats it as signed out, and its user signs in again once.
"""

from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, User
from django.db import connection

from core.roles import Role, roles_held_remember
from core.sql_rows import ModelColumns

_USER = ModelColumns(User, "u")
# One row per group of the user (one with a null name when they have none). A LEFT JOIN, not a subquery per role: this
# text is planned on every request (no prepared statements), and four EXISTS subqueries planned in about 0.5 ms.
_USER_SQL = f"""SELECT {_USER.select}, g."name" FROM "{User._meta.db_table}" u
    LEFT JOIN "{User.groups.through._meta.db_table}" ug ON ug."user_id" = u."id"
    LEFT JOIN "{Group._meta.db_table}" g ON g."id" = ug."group_id"
WHERE u."id" = %s"""  # noqa: S608


def user_with_roles(user_id: Any) -> User | None:
    """The user whose primary key is `user_id`, their roles remembered for this request (core.roles.user_roles);
    None when there is none."""
    with connection.cursor() as cursor:
        cursor.execute(_USER_SQL, [User._meta.pk.to_python(user_id)])  # type: ignore[union-attr]
        rows = cursor.fetchall()
    if not rows:
        return None
    user = _USER.build(rows[0][: _USER.width])
    groups = {row[-1] for row in rows}
    roles_held_remember(user, [role.value in groups for role in Role])
    return user


class RolesModelBackend(ModelBackend):
    """ModelBackend whose session user comes with their roles, in one fixed-SQL statement."""

    def get_user(self, user_id: Any) -> User | None:
        user = user_with_roles(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None

    async def aget_user(self, user_id: Any) -> User | None:
        return await sync_to_async(self.get_user)(user_id)
