"""A shopper's whole visit reaches PostgreSQL exactly once, through real worker processes."""

from __future__ import annotations

import sys

import pytest
from django.test import Client
from django.urls import reverse

from recommendations.models import Event, EventKind
from recommendations.tasks import ingest_pending
from shop.celery import app
from tests.processes import ROOT, child_env, start_manage, stop, wait_for

from .conftest import product_url

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CHECKOUT = {
    "email": "ann@example.com",
    "shipping_address": "1 High Street, Leeds",
    "name": "Ann Buyer",
    "card_number": "4242 4242 4242 4242",
    "expiry": "12/39",
    "cvc": "123",
}


def shop_visit(client: Client, products) -> list[tuple[int, str]]:
    """Browse, fill a cart, check out; returns the events a shopper expects to have produced."""
    a, b, c = products[:3]
    for product in (a, b, c, a):
        assert client.get(product_url(product)).status_code == 200
    client.post(reverse("shop:cart_add", kwargs={"pk": a.pk}), {"quantity": 2})
    client.post(reverse("shop:cart_add", kwargs={"pk": c.pk}), {"quantity": 1})
    response = client.post(reverse("shop:checkout"), CHECKOUT)
    assert response.status_code == 302
    assert client.get(response["Location"]).status_code == 200
    return sorted(
        [(EventKind.VIEW, str(p.pk)) for p in (a, b, c, a)]
        + [(EventKind.ADD_TO_CART, str(a.pk)), (EventKind.ADD_TO_CART, str(c.pk))]
        + [(EventKind.PURCHASE, str(a.pk)), (EventKind.PURCHASE, str(c.pk))]
    )


def stored() -> list[tuple[int, str]]:
    return sorted(Event.objects.values_list("kind", "item_id"))


def test_visit_is_stored_exactly_once_by_the_ingest_consumer(tmp_path, products):
    log = tmp_path / "ingest.log"
    consumer = start_manage("recommendations_ingest", "--name", "e2e", log=log)
    try:
        expected = shop_visit(Client(), products)
        assert wait_for(lambda: Event.objects.count() >= len(expected), timeout=30), log.read_text()
        wait_for(lambda: False, timeout=1.0)  # anything extra would have arrived by now
    finally:
        stop(consumer)
    assert stored() == expected
    assert Event.objects.values("event_id").distinct().count() == len(expected)


@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")
def test_celery_worker_drains_the_stream(tmp_path, products):
    expected = shop_visit(Client(), products)
    assert not Event.objects.exists()  # queued in Redis, not yet stored
    log = tmp_path / "worker.log"
    worker_cmd = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "shop",
        "worker",
        "--pool",
        "solo",
        "-l",
        "info",
    ]
    import subprocess

    with open(log, "ab") as out:
        worker = subprocess.Popen(
            worker_cmd,
            cwd=ROOT,
            env=child_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        app.send_task(ingest_pending.name)  # to the broker, even with eager tasks in tests
        assert wait_for(lambda: Event.objects.count() >= len(expected), timeout=60), log.read_text()
    finally:
        stop(worker)
    assert stored() == expected
