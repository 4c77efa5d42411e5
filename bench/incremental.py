"""Incremental training cost: a full run, 1 % more events, then an incremental run.

Command:  .venv/bin/python bench/incremental.py
Data:     UCI Online Retail (../shared/data/online_retail/online_retail.csv.gz) imported into the
          demo shop by ``shop_import_online_retail`` (one purchase event per invoice line), in
          services mode: a fresh PostgreSQL database of its own and a private Redis database.
Setup:    the newest 1 % of the purchase events are held back; ``train("full")`` runs on the rest
          (the whole candidate grid); the held-back events are stored again, as a store's new
          traffic would be; ``train("incremental")`` runs (the active families and popularity,
          refitted on the new split); then ``train("full")`` again on the same data, as the
          reference for quality. The baseline is the first full run, measured in the same process.

Timed: the ``train()`` call, which reads events, fits, validates, saves and gates the versions.
Not timed: precomputing the lists of promoted versions, a Celery task that a worker runs after
the promotion commits (``bench/precompute.py`` measures it); the tasks queued for it are purged.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

DB_NAME = "recommendations_bench_incremental"
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DB_NAME}")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
HELD_BACK = 0.01
GOAL_RATIO = 0.10
GOAL_NDCG_GAP = 0.02
GATED = ("for_you", "similar_item", "bought_together")


def environment() -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "DJANGO_SETTINGS_MODULE": "shop.settings",
        "DJANGO_DEBUG": "0",
        "LOG_LEVEL": "WARNING",
    }


def fresh_database(path: Path) -> float:
    """Drop, create, migrate and import: every run starts from the same store."""
    started = time.perf_counter()
    name = DATABASE_URL.rsplit("/", 1)[1]
    for sql in (f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"):
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=environment(), check=True)
    subprocess.run(
        [*manage, "shop_import_online_retail", str(path)],
        cwd=ROOT,
        env=environment(),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def main() -> None:
    from _common import CITATION, RETAIL_PATH, print_header, print_table

    if not RETAIL_PATH.exists():
        raise SystemExit(f"{RETAIL_PATH} is missing (see ../shared/data/online_retail/README.md)")
    import_s = fresh_database(RETAIL_PATH)
    os.environ.update(environment())
    import django

    django.setup()
    import redis

    from recommendations.models import Event, ModelVersion
    from recommendations.training import train
    from shop.celery import app as celery_app

    redis.Redis.from_url(REDIS_URL).flushdb()
    total = Event.objects.count()
    held = list(Event.objects.order_by("-ts", "-pk")[: int(total * HELD_BACK)])
    Event.objects.filter(pk__in=[event.pk for event in held]).delete()

    full = train("full", progress=True)
    for event in held:
        event.pk = None
    Event.objects.bulk_create(held, batch_size=2000)
    incremental = train("incremental", progress=True)
    refit = train("full", progress=True)
    celery_app.control.purge()

    def outcome(result, scenario="for_you"):
        return next(o for o in result.scenarios if o.scenario == scenario)

    rows = []
    for label, result in (
        ("full (baseline)", full),
        ("incremental, +1 % events", incremental),
        ("full refit, same data", refit),
    ):
        chosen = outcome(result)
        rows.append(
            [
                label,
                f"{result.events_read:,}",
                f"{result.seconds:.2f}",
                f"{result.seconds / full.seconds:.3f}",
                chosen.model,
                f"{chosen.metric:.4f}",
                "yes" if all(outcome(result, s).promoted for s in GATED) else "no",
            ]
        )
    ratio = incremental.seconds / full.seconds
    ndcg_incremental, ndcg_full = outcome(incremental).metric, outcome(refit).metric
    gap = (ndcg_full - ndcg_incremental) / ndcg_full
    promoted = all(outcome(incremental, s).promoted for s in GATED)

    print_header(
        "Incremental training: the loop's five-minute run against a full run",
        f"{CITATION} Imported into the demo shop ({import_s:.0f} s, untimed): {total:,} events; "
        f"the newest {len(held):,} ({HELD_BACK:.0%}) held back for the incremental run. "
        "Services mode (PostgreSQL, Redis).",
    )
    print_table(
        ["run", "events read", "seconds", "ratio", "for-you model", "NDCG@10", "all promoted"],
        rows,
    )
    for scenario in GATED:
        print(f"  {outcome(incremental, scenario).describe()}")
    print()
    print(
        f"goal: incremental <= {GOAL_RATIO:.0%} of a full run ({'met' if ratio <= GOAL_RATIO else 'not met'}: "
        f"{ratio:.1%}); NDCG@10 within {GOAL_NDCG_GAP:.0%} of a full refit "
        f"({'met' if gap <= GOAL_NDCG_GAP else 'not met'}: {abs(gap):.2%} "
        f"{'below' if gap > 0 else 'above'} the refit)"
    )
    print(f"versions stored: {ModelVersion.objects.count()}")
    print(
        json.dumps(
            {
                "full_s": round(full.seconds, 3),
                "incremental_s": round(incremental.seconds, 3),
                "ratio": round(ratio, 4),
                "ndcg_incremental": round(ndcg_incremental, 5),
                "ndcg_full": round(ndcg_full, 5),
                "promoted": promoted,
            }
        )
    )


if __name__ == "__main__":
    main()
