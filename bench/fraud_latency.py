"""Fraud scoring latency in services mode: how soon an order's score exists after its purchase
events are stored.

Command:  .venv/bin/python bench/fraud_latency.py [--orders 50]
Data:     generated orders of two lines by new accounts (recommendations_bench database, emptied
          first), each with its checkout attempt, as the demo store's checkout records them.
Setup:    services mode: one ingest consumer (``manage.py recommendations_ingest``) and one Celery
          worker (solo pool) running; PostgreSQL and Redis on loopback.

Each trial sends ``order_placed`` as the checkout does (the purchase events go to the Redis
stream once the transaction commits), then polls the database every 2 ms for the order's purchase
events and for its risk assessment. The baseline, in the same run, is ingestion: from the commit
to the events being stored. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from decimal import Decimal

import _services as svc


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _wait(check, timeout: float = 30.0) -> float:
    deadline = time.perf_counter() + timeout
    while not check():
        if time.perf_counter() > deadline:
            raise SystemExit("timed out: see the consumer and worker logs in the temp folder")
        time.sleep(0.002)
    return time.perf_counter()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=50)
    args = parser.parse_args()

    svc.prepare_database()
    svc.reset_stream()
    svc.django_setup()
    from django.contrib.auth.models import User
    from django.db import transaction

    from recommendations.models import CheckoutAttempt, Event, EventKind, RiskAssessment
    from recommendations.signals import order_placed
    from shop.models import Order

    RiskAssessment.objects.all().delete()
    CheckoutAttempt.objects.all().delete()
    Order.objects.filter(number__startswith="BENCH-F").delete()
    User.objects.filter(username__startswith="bench-fraud-").delete()
    worker = [svc.PYTHON, "-m", "celery", "-A", "shop", "worker", "--pool", "solo", "-l", "warning"]
    ingest, scoring = [], []
    with svc.consumer(), svc.process(worker, log_name="worker"):
        for trial in range(args.orders + 1):  # the first one warms the worker up, not counted
            user = User.objects.create(username=f"bench-fraud-{trial}")
            with transaction.atomic():
                order = Order.objects.create(
                    number=f"BENCH-F{trial}", user=user, total=Decimal("42.00")
                )
                order_placed.send(
                    sender=Order,
                    request=None,
                    order_id=order.pk,
                    user=user,
                    lines=[("1", 1, Decimal("12.00")), ("2", 1, Decimal("30.00"))],
                    email=f"bench{trial}@example.com",
                    shipping_address=f"{trial} Bench Street",
                    card_fingerprint=f"{trial:032x}",
                    total=Decimal("42.00"),
                )
            committed = time.perf_counter()
            purchases = Event.objects.filter(kind=EventKind.PURCHASE, user_id=user.pk)
            stored = _wait(lambda p=purchases: p.count() == 2)
            scored = _wait(
                lambda key=str(order.pk): RiskAssessment.objects.filter(key=key).exists()
            )
            if trial:
                ingest.append((stored - committed) * 1000)
                scoring.append((scored - stored) * 1000)

    print("Fraud scoring latency (services mode)")
    print(f"command: python bench/fraud_latency.py --orders {args.orders}")
    print(f"data:    {args.orders} generated two-line orders with checkout attempts")
    print(f"machine: {svc.machine()}")
    print()
    print("| interval | p50 ms | p95 ms | max ms |")
    print("|---|---|---|---|")
    for name, values in (
        ("commit → events stored (baseline)", ingest),
        ("events stored → score stored", scoring),
    ):
        print(
            f"| {name} | {statistics.median(values):.0f} | {_percentile(values, 95):.0f} "
            f"| {max(values):.0f} |"
        )
    ratio = statistics.median(scoring) / statistics.median(ingest)
    print(f"\nscoring / ingestion (p50): {ratio:.2f}")
    print(
        json.dumps(
            {
                "orders": args.orders,
                "ingest_p50_ms": round(statistics.median(ingest), 1),
                "score_after_store_p50_ms": round(statistics.median(scoring), 1),
                "score_after_store_p95_ms": round(_percentile(scoring, 95), 1),
                "ratio": round(ratio, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
