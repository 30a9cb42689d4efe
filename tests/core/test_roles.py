import pytest

from core.roles import Capability, Role, user_can, user_role_assign


@pytest.mark.parametrize(
    ("role", "capability", "expected"),
    [
        (Role.VIEWER, Capability.VIEW, True),
        (Role.VIEWER, Capability.REVIEW, False),
        (Role.REVIEWER, Capability.REVIEW, True),
        (Role.REVIEWER, Capability.CURATE, False),
        (Role.CURATOR, Capability.CURATE, True),
        (Role.CURATOR, Capability.RUN_GPU_JOBS, False),
        (Role.ADMIN, Capability.RUN_GPU_JOBS, True),
        (Role.ADMIN, Capability.MANAGE, True),
    ],
)
def test_role_grants_exactly_its_capabilities(user_with_role, role, capability, expected):
    user = user_with_role(role)

    assert user_can(user, capability) is expected


def test_reassigning_a_role_replaces_the_previous_one(user_with_role):
    user = user_with_role(Role.CURATOR)

    user_role_assign(user=user, role=Role.VIEWER)

    assert sorted(user.groups.values_list("name", flat=True)) == ["viewer"]
    assert not user_can(user, Capability.CURATE)


def test_user_without_role_can_do_nothing(user_with_role):
    user = user_with_role(None)

    assert not user_can(user, Capability.VIEW)
