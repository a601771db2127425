import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import get_hasher, identify_hasher

from accounts.services import user_create

pytestmark = pytest.mark.django_db


def test_it_creates_an_active_user_with_a_hashed_password(real_password_hashers):
    user = user_create(username="alice", password="plum-Orbit-47-lantern", email="a@example.com")

    user = get_user_model().objects.get(pk=user.pk)
    assert user.password != "plum-Orbit-47-lantern"
    algorithm = identify_hasher(user.password).algorithm
    assert algorithm == get_hasher().algorithm and algorithm != "md5"  # the project's hasher, not the tests'
    assert user.check_password("plum-Orbit-47-lantern")
    assert user.email == "a@example.com"
    assert user.is_active
