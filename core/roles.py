"""Roles (docs/ARCHITECTURE.md §9) as Django groups, and the capabilities each one grants.

admin: everything, including training and evaluation; curator: import, prune, generate, export;
reviewer: vote in assigned queues; viewer: read. Checked in views, API and tasks alike.
"""

from collections.abc import Callable, Sequence
from enum import StrEnum
from functools import wraps
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission


class Role(StrEnum):
    ADMIN = "admin"
    CURATOR = "curator"
    REVIEWER = "reviewer"
    VIEWER = "viewer"


class Capability(StrEnum):
    VIEW = "view"
    REVIEW = "review"
    CURATE = "curate"
    RUN_GPU_JOBS = "run_gpu_jobs"
    MANAGE = "manage"


ROLE_CAPABILITIES: dict[Role, frozenset[Capability]] = {
    Role.VIEWER: frozenset({Capability.VIEW}),
    Role.REVIEWER: frozenset({Capability.VIEW, Capability.REVIEW}),
    Role.CURATOR: frozenset({Capability.VIEW, Capability.REVIEW, Capability.CURATE}),
    Role.ADMIN: frozenset(Capability),
}


def roles_ensure() -> None:
    """Create the four role groups if they are missing (idempotent)."""
    for role in Role:
        Group.objects.get_or_create(name=role.value)


def user_roles(user: AbstractBaseUser | AnonymousUser) -> set[Role]:
    if not user.is_authenticated:
        return set()
    if getattr(user, "is_superuser", False):
        return {Role.ADMIN}
    cached = getattr(user, "_winnow_roles", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))  # type: ignore[union-attr,attr-defined]
        cached = {role for role in Role if role.value in names}
        user._winnow_roles = cached  # type: ignore[union-attr,attr-defined]
    return cached


def roles_held_remember(user: AbstractBaseUser, held: Sequence[bool]) -> None:
    """Whether `user` holds each role, in `Role`'s order (read with their row), become their roles for this
    request (as `user_roles` caches them)."""
    user._winnow_roles = {role for role, holds in zip(Role, held, strict=True) if holds}  # type: ignore[attr-defined]


def user_capabilities(user: AbstractBaseUser | AnonymousUser) -> frozenset[Capability]:
    granted: set[Capability] = set()
    for role in user_roles(user):
        granted |= ROLE_CAPABILITIES[role]
    return frozenset(granted)


def user_can(user: AbstractBaseUser | AnonymousUser, capability: Capability) -> bool:
    return capability in user_capabilities(user)


def user_role_assign(*, user: AbstractBaseUser, role: Role) -> None:
    """Put a user in exactly one role group."""
    roles_ensure()
    groups = Group.objects.filter(name__in=[r.value for r in Role])
    user.groups.remove(*groups)  # type: ignore[attr-defined]
    user.groups.add(Group.objects.get(name=role.value))  # type: ignore[attr-defined]
    if hasattr(user, "_winnow_roles"):
        del user._winnow_roles


def capability_required(capability: Capability) -> Callable:
    """Page-view decorator: login required, then the capability (403 otherwise)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request: Any, *args: Any, **kwargs: Any) -> Any:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not user_can(request.user, capability):
                raise PermissionDenied(f"This page needs the '{capability}' permission.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


class HasCapability(BasePermission):
    """DRF permission: the view declares `required_capability` (and optionally per method)."""

    message = "Your role does not allow this operation."

    def has_permission(self, request: Any, view: Any) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        per_method = getattr(view, "required_capabilities", {})
        capability = per_method.get(request.method, getattr(view, "required_capability", Capability.VIEW))
        return user_can(request.user, capability)
