"""The people of the domain specifications: to the domain, a person is a fresh id."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest


@pytest.fixture
def mina() -> UUID:
    return uuid4()


@pytest.fixture
def jo() -> UUID:
    return uuid4()


@pytest.fixture
def sam() -> UUID:
    return uuid4()
