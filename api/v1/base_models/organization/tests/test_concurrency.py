"""Concurrent membership changes on the real PostgreSQL take their locks in one global order."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from api.v1.base_models.organization.models import Membership
from api.v1.base_models.organization.tests.factories import OrganizationFactory
from conftest import add_member, client_for

ROUNDS = 20


def _at_once(*requests):
    """Run the callables at the same moment; return their status codes (or raised errors)."""
    start = threading.Barrier(len(requests))
    results: list = [None] * len(requests)

    def run(index, request):
        try:
            start.wait()
            results[index] = request().status_code
        except BaseException as exc:  # noqa: BLE001 - a 500 raises in the test client
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _demote(organization, actor, target):
    url = f"/api/v1/organizations/{organization.slug}/members/{target.username}/"
    return lambda: client_for(actor).patch(url, {"role": "admin"}, format="json")


@pytest.mark.django_db(transaction=True)
def test_two_owners_demoting_each_other_never_deadlock():
    """Each round one demotion wins; the other is the documented 409 (last owner), or a 403 when
    the loser's own demotion committed before its request was authorized (it is no longer an
    owner). Before the fix, each request locked its target first and the other owners second:
    a deadlock, answered 500."""
    outcomes = []
    for round_number in range(ROUNDS):
        organization = OrganizationFactory(slug=f"duel-{round_number}")
        first, second = add_member(organization, "owner"), add_member(organization, "owner")
        outcomes.append(
            _at_once(_demote(organization, first, second), _demote(organization, second, first))
        )
        owners = Membership.objects.filter(organization=organization, role__name="owner")
        assert owners.count() == 1, f"round {round_number}: {outcomes[-1]}"

    allowed = ({200, 409}, {200, 403})
    assert all(len(outcome) == 2 and set(outcome) in allowed for outcome in outcomes), outcomes
    assert any(set(outcome) == {200, 409} for outcome in outcomes), "no round really overlapped"
