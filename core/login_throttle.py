"""Brute-force limit on logins: failed attempts counted per client IP and per username.

The login page and POST /api/auth/token/ share the counters, so guesses cannot be split between them.
A counter starts at the first failure and lasts LOGIN_FAILURE_WINDOW_SECONDS; once the IP's or the
username's count reaches its limit, every login from that IP or for that username is refused without
checking the password (a right guess would otherwise still tell itself apart) until the window ends.
A successful login clears the username's counter, not the IP's.

The counters live in the "login_throttle" cache, which production settings point at Redis or files
shared by the web processes; a per-process cache would multiply the limit by the number of processes.
"""

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest
from rest_framework.settings import api_settings


@dataclass(frozen=True)
class LoginRefusal:
    """Logins are refused for about `retry_after` seconds more (at most one window)."""

    retry_after: int
    message: str = "Too many failed login attempts. Try again later."


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or the NUM_PROXIES-th address from the right of X-Forwarded-For.

    Only addresses appended by our own proxies are trusted: the left part of the header is the client's to write.
    """
    remote_addr = request.META.get("REMOTE_ADDR", "")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    num_proxies = api_settings.NUM_PROXIES or 0
    if num_proxies <= 0 or not forwarded:
        return remote_addr
    addresses = [a.strip() for a in forwarded.split(",") if a.strip()]
    return addresses[-min(num_proxies, len(addresses))] if addresses else remote_addr


def _keys(*, ip: str, username: str) -> tuple[str, str]:
    # Hashed: usernames are user input (any length, any characters) and cache keys are not.
    digest = hashlib.sha256(username.encode()).hexdigest()
    return f"login-failures:ip:{ip}", f"login-failures:user:{digest}"


def login_refusal(*, ip: str, username: str) -> LoginRefusal | None:
    """A refusal when the IP or the username is past its failure limit in the current window, else None."""
    ip_key, user_key = _keys(ip=ip, username=username)
    counts = caches["login_throttle"].get_many([ip_key, user_key])
    over_ip = counts.get(ip_key, 0) >= settings.LOGIN_FAILURE_LIMIT_PER_IP
    over_user = counts.get(user_key, 0) >= settings.LOGIN_FAILURE_LIMIT_PER_USERNAME
    return LoginRefusal(retry_after=settings.LOGIN_FAILURE_WINDOW_SECONDS) if over_ip or over_user else None


def login_failure_record(*, ip: str, username: str) -> None:
    """Count one failed login against the IP and the username."""
    cache = caches["login_throttle"]
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    for key in _keys(ip=ip, username=username):
        # add() starts the window only if no count is running; incr() is atomic on Redis and LocMem.
        cache.add(key, 0, timeout=window)
        try:
            cache.incr(key)
        except ValueError:  # the window ended between add() and incr()
            cache.add(key, 1, timeout=window)


def login_success_record(*, username: str) -> None:
    """Forget the username's failures (the IP's stay: one account's success does not vouch for the address)."""
    caches["login_throttle"].delete(_keys(ip="", username=username)[1])
