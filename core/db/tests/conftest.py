import uuid

import pytest

from core.db import server


@pytest.fixture
def scratch_db():
    """``scratch_db()`` → a fresh database name nobody uses; every one is dropped afterwards."""
    names = []

    def make():
        names.append(f"erp_scratch_{uuid.uuid4().hex[:12]}")
        return names[-1]

    yield make
    for name in names:
        server.drop_database(name)
