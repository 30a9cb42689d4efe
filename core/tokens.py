"""API tokens: one per user, bound to the password it was issued under, revocable by its owner.

Every way of changing a password (the password-change page, Django admin, `manage.py changepassword`)
voids the user's token without a hook in each: the token carries a fingerprint of the password hash
and authentication compares it with the current one. Obtaining a token after a change replaces the
void one with a new key.
"""

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import User
from django.db import transaction
from django.utils.crypto import constant_time_compare, salted_hmac
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from core.models import TokenPasswordBinding
from core.roles import roles_annotate, roles_remember

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
    if binding is None:
        fingerprint = password_fingerprint(token.user)
        TokenPasswordBinding.objects.get_or_create(token=token, defaults={"password_fingerprint": fingerprint})
        return True
    return constant_time_compare(binding.password_fingerprint, password_fingerprint(token.user))


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


class PasswordBoundTokenAuthentication(TokenAuthentication):
    """DRF's token authentication that also refuses a token issued under a password since changed."""

    def authenticate_credentials(self, key: str) -> tuple[User, Token]:
        # The user's roles come in the same statement: the permission check of every API call needs them.
        tokens = roles_annotate(Token.objects.select_related("user", "password_binding"), user_id_field="user_id")
        try:
            token = tokens.get(key=key)
        except Token.DoesNotExist:
            raise exceptions.AuthenticationFailed("Invalid token.")
        roles_remember(token, token.user)
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        if not token_password_current(token=token):
            raise exceptions.AuthenticationFailed("Token voided by a password change: obtain a new one.")
        return token.user, token
