"""API tokens: one per user, bound to the password it was issued under, revocable by its owner.

Every way of changing a password (the password-change page, Django admin, `manage.py changepassword`)
voids the user's token without a hook in each: the token carries a fingerprint of the password hash
and authentication compares it with the current one. Obtaining a token after a change replaces the
void one with a new key.
"""

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import Group, User
from django.db import connection, transaction
from django.utils.crypto import constant_time_compare, salted_hmac
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from core.models import TokenPasswordBinding
from core.roles import Role, roles_held_remember
from core.sql_rows import ModelColumns

_FINGERPRINT_SALT = "winnow.core.tokens.password-binding"


def password_fingerprint(user: AbstractBaseUser) -> str:
    """An HMAC (keyed by SECRET_KEY) of the user's password hash: it changes whenever the password does."""
    return salted_hmac(_FINGERPRINT_SALT, user.password, algorithm="sha256").hexdigest()


def _binding(token: Token) -> TokenPasswordBinding | None:
    try:
        return token.password_binding  # type: ignore[attr-defined]
    except TokenPasswordBinding.DoesNotExist:
        return None


def token_password_current(*, token: Token) -> bool:
    """Whether the token was issued under the user's current password.

    A token without a binding (made in Django admin, or before bindings existed) is bound on first use.
    """
    binding = _binding(token)
    return _fingerprint_current(token, binding.password_fingerprint if binding is not None else None)


def _fingerprint_current(token: Token, fingerprint: str | None) -> bool:
    if fingerprint is None:
        fingerprint = password_fingerprint(token.user)
        TokenPasswordBinding.objects.get_or_create(token=token, defaults={"password_fingerprint": fingerprint})
        return True
    return constant_time_compare(fingerprint, password_fingerprint(token.user))


@transaction.atomic
def token_issue(*, user: User) -> Token:
    """The user's token, bound to the current password; a token voided by a password change is replaced."""
    token = Token.objects.select_related("user", "password_binding").filter(user=user).first()
    if token is not None and token_password_current(token=token):
        return token
    if token is not None:
        token.delete()
    # get_or_create: two first logins at once both end with the one token.
    token, _ = Token.objects.get_or_create(user=user)
    TokenPasswordBinding.objects.get_or_create(
        token=token, defaults={"password_fingerprint": password_fingerprint(user)}
    )
    return token


def token_revoke(*, user: User) -> bool:
    """Delete the user's API token (the next call with it gets 401); False when there was none."""
    deleted, _ = Token.objects.filter(user=user).delete()
    return deleted > 0


_TOKEN, _USER = ModelColumns(Token, "t"), ModelColumns(User, "u")
# Every API call reads its token this way: the token, its user, the password binding and the names of the user's groups
# (the permission check needs their roles), in one statement whose text is fixed (no per-call compile). One row per
# group of the user (one with a null name when they have none): a LEFT JOIN, not a subquery per role, which PostgreSQL
# planned on every call (about 0.5 ms; the session path's core/session_auth.py measured the same).
_TOKEN_SQL = f"""
SELECT {_TOKEN.select}, {_USER.select}, b."password_fingerprint", g."name"
FROM "{Token._meta.db_table}" t JOIN "{User._meta.db_table}" u ON u."id" = t."user_id"
    LEFT JOIN "{TokenPasswordBinding._meta.db_table}" b ON b."token_id" = t."key"
    LEFT JOIN "{User.groups.through._meta.db_table}" ug ON ug."user_id" = t."user_id"
    LEFT JOIN "{Group._meta.db_table}" g ON g."id" = ug."group_id"
WHERE t."key" = %s
"""  # noqa: S608


def _token_read(key: str) -> tuple[Token, str | None] | None:
    """The token with its user (their roles remembered), and its password fingerprint (None: not bound yet)."""
    with connection.cursor() as cursor:
        cursor.execute(_TOKEN_SQL, [key])
        rows = cursor.fetchall()
    if not rows:
        return None
    row = rows[0]
    user_end = _TOKEN.width + _USER.width
    token, user = _TOKEN.build(row[: _TOKEN.width]), _USER.build(row[_TOKEN.width : user_end])
    token.user = user
    groups = {r[user_end + 1] for r in rows}
    roles_held_remember(user, tuple(role.value in groups for role in Role))
    return token, row[user_end]


class PasswordBoundTokenAuthentication(TokenAuthentication):
    """DRF's token authentication that also refuses a token issued under a password since changed."""

    def authenticate_credentials(self, key: str) -> tuple[User, Token]:
        read = _token_read(key)
        if read is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        token, fingerprint = read
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        if not _fingerprint_current(token, fingerprint):
            raise exceptions.AuthenticationFailed("Token voided by a password change: obtain a new one.")
        return token.user, token
