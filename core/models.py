from django.db import models


class TokenPasswordBinding(models.Model):
    """The password an API token belongs to, as an HMAC of the user's password hash.

    A changed password changes the hash, which voids every token issued under the old one (the way
    Django's session auth hash logs out other sessions); core.tokens issues and checks the binding.
    """

    token = models.OneToOneField(
        "authtoken.Token", on_delete=models.CASCADE, primary_key=True, related_name="password_binding"
    )
    password_fingerprint = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"password binding of {self.token.user_id}'s token"
