"""Segment membership: one full rebuild and one incremental update over generated events.

Command:  DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> REDIS_URL=redis://127.0.0.1:6379/<n> \
          .venv/bin/python bench/segments.py [--events 50000]
Data:     generated in that database (its events, products and segments are replaced): 5
          categories of 40 products, 2,000 users and 8,000 anonymous visitors, events spread over
          60 days (70 % views, 15 % add-to-carts, 10 % purchase lines of 1-3 line orders, 5 %
          clicks); six segments, one per event-based condition kind plus an "all" of two.
Figures:  seconds for ``rebuild_segments()`` (every member of every segment), then for
          ``update_segments()`` after 300 new events in the last minute (the 30-second beat's
          job), and their ratio (the baseline is the rebuild, in the same run). Run once each;
          the machine line says where. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from recommendations.marketing.segments import rebuild_segments, update_segments
    from recommendations.models import (
        ConditionKind,
        Event,
        EventKind,
        MatchMode,
        Segment,
        SegmentCondition,
    )
    from shop.models import Category, Product

    call_command("migrate", verbosity=0)
    Segment.objects.all().delete()
    Event.objects.all().delete()
    rng = random.Random(7)
    categories = []
    for i in range(5):
        category, _ = Category.objects.get_or_create(name=f"Bench {i}", slug=f"bench-{i}")
        categories.append(category)
    products = list(Product.objects.filter(category__in=categories))
    if not products:
        products = Product.objects.bulk_create(
            Product(
                sku=f"BENCH-{c.pk}-{j}",
                title=f"Bench {c.pk}-{j}",
                category=c,
                price=Decimal(5 + j),
                stock=10,
            )
            for c in categories
            for j in range(40)
        )
    items = [str(p.pk) for p in products]
    prices = {str(p.pk): str(p.price) for p in products}
    now = timezone.now()
    people = [(user, f"browser-{user}") for user in range(1, 2001)]
    people += [(None, f"anon-{n}") for n in range(8000)]

    def events(count: int, span: timedelta) -> list[Event]:
        made, order = [], int(time.time())
        while len(made) < count:
            user, visitor = rng.choice(people)
            at = now - span * rng.random()
            roll = rng.random()
            kind = (
                EventKind.VIEW if roll < 0.70
                else EventKind.ADD_TO_CART if roll < 0.85
                else EventKind.PURCHASE if roll < 0.95
                else EventKind.CLICK
            )  # fmt: skip
            lines = rng.randint(1, 3) if kind == EventKind.PURCHASE else 1
            order += 1
            for _ in range(lines):
                item = rng.choice(items)
                context = (
                    {"order": order, "price": prices[item]} if kind == EventKind.PURCHASE else {}
                )
                made.append(
                    Event(
                        event_id=uuid.uuid4(),
                        visitor_id=visitor,
                        user_id=user,
                        item_id=item,
                        kind=kind,
                        value=1.0,
                        ts=at,
                        context=context,
                    )
                )
        return made[:count]

    Event.objects.bulk_create(events(args.events, timedelta(days=60)), batch_size=5000)
    specs = [
        ("viewed-bench-0", MatchMode.ALL, [dict(kind=ConditionKind.VIEWED_CATEGORY,
                                                category="Bench 0", count=3, days=14)]),
        ("abandoners", MatchMode.ALL, [dict(kind=ConditionKind.CART_ABANDONED, hours=2, days=30)]),
        ("lapsed", MatchMode.ALL, [dict(kind=ConditionKind.LAPSED_BUYER, orders=2, days=30)]),
        ("high-value", MatchMode.ALL, [dict(kind=ConditionKind.HIGH_VALUE, percent=5, days=30)]),
        ("viewed-item", MatchMode.ALL, [dict(kind=ConditionKind.VIEWED_ITEM, item_id=items[0],
                                             days=30)]),
        ("lapsed-abandoners", MatchMode.ALL, [dict(kind=ConditionKind.LAPSED_BUYER, orders=1,
                                                   days=14),
                                              dict(kind=ConditionKind.CART_ABANDONED, hours=24)]),
    ]  # fmt: skip
    for key, match, conditions in specs:
        segment = Segment.objects.create(key=key, name=key, match=match)
        for fields in conditions:
            SegmentCondition.objects.create(segment=segment, **fields)

    started = time.perf_counter()
    rebuilt = rebuild_segments(now=now)
    rebuild_s = time.perf_counter() - started
    Event.objects.bulk_create(events(300, timedelta(minutes=1)))
    later = timezone.now()
    started = time.perf_counter()
    updated = update_segments(now=later)
    update_s = time.perf_counter() - started

    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.machine(),
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            "select version()" if connection.vendor == "postgresql" else "select 'SQLite'"
        )
        database = cursor.fetchone()[0].split(" on ")[0]
    print(f"Machine: {cpu}, {os.cpu_count()} CPUs; {database}")
    print(f"Events: {Event.objects.count():,}; segments: {len(specs)}")
    for segment in Segment.objects.order_by("key"):
        print(f"  {segment.key}: {segment.member_count:,} members")
    print(f"| rebuild_segments() | {rebuild_s:.2f} s | entered {rebuilt.entered:,} |")
    print(f"| update_segments()  | {update_s:.2f} s | checked {updated.members_checked:,} members, "
          f"entered {updated.entered}, left {updated.left} |")  # fmt: skip
    print(f"| update / rebuild   | {update_s / rebuild_s:.3f} |")
    print(
        json.dumps(
            {
                "events": Event.objects.count(),
                "segments": len(specs),
                "rebuild_s": round(rebuild_s, 3),
                "update_s": round(update_s, 3),
                "ratio": round(update_s / rebuild_s, 4),
                "members_checked": updated.members_checked,
            }
        )
    )


if __name__ == "__main__":
    main()
