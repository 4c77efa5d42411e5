"""Precompute time: for-you lists for every Online Retail customer, and a 1M x 100k estimate.

Command:  .venv/bin/python bench/precompute.py
Data:     UCI Online Retail (../shared/data/online_retail/online_retail.csv.gz): every purchased
          (customer, item) pair, 4,335 customers x 3,659 items; EASE (the model the selector picks
          on this data) fitted once, untimed. Then synthetic ALS factors for 100,000 items.
Setup:    the production code path, ``precompute.model_lists.write_user_lists`` (numpy/scipy scoring in blocks
          of 1,024 users, seen items removed, top 100), writing to a private Redis database
          (services mode's store); the same scoring with a store that discards the lists is the
          baseline, so the table shows what scoring and what writing cost.

The 1M users x 100k items figure is an extrapolation, not a run: ALS scoring of 4,096 synthetic
users against 100,000 items is timed, scaled to 1,000,000 users, and the per-list write cost
measured on Online Retail is added.

Sharded (``PRECOMPUTE_SHARDS``): the same write split into ``--processes`` shards, each in a
process of its own (forked, as Celery's prefork workers are), against one process writing
everything in the same run: wall time, lists per second and CPU seconds per 1,000 lists.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import sys
import time
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")

import _services

# Precompute reads the database too (erased users are never written back): the benchmark
# database, created and migrated if needed.
os.environ.setdefault("DATABASE_URL", _services.DATABASE_URL)
_services.prepare_database()

import django  # noqa: E402

django.setup()

from _common import CITATION, RETAIL_PATH, load_reference, machine, print_header, print_table  # noqa: E402

from recommendations import precompute  # noqa: E402
from recommendations.engine.models import EASE  # noqa: E402
from recommendations.stores import RedisListStore  # noqa: E402

GOAL_S = 2.0
LENGTH = 100


class DiscardingStore:
    def put_many(self, lists, *, model_version: str = "") -> None:
        pass


def customer_state(interactions) -> SimpleNamespace:
    """The shape of a training state that ``_write_user_lists`` reads."""
    coo = interactions.matrix.tocoo()
    return SimpleNamespace(
        user_keys=np.asarray(interactions.user_map.to_array()).astype(str),
        item_keys=np.asarray(interactions.item_map.to_array()).astype(str),
        pair_users=coo.row.astype(np.int64),
        pair_items=coo.col.astype(np.int64),
        pair_weights=coo.data.astype(np.float32),
    )


def timed_write(store, artifact, state) -> tuple[float, int]:
    started = time.perf_counter()
    written = precompute.model_lists.write_user_lists(store, "bench", artifact, state, LENGTH, True)
    return time.perf_counter() - started, written


def _write_shard(artifact, state, shard) -> None:
    precompute.model_lists.write_user_lists(
        RedisListStore(), "bench", artifact, state, LENGTH, True, shard=shard
    )


def sharded_write(artifact, state, processes: int) -> tuple[float, float]:
    """Wall seconds and the children's CPU seconds for ``processes`` shards written at once."""
    context = multiprocessing.get_context("fork")
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    children = [
        context.Process(
            target=_write_shard,
            args=(artifact, state, precompute.model_lists.Shard(index, processes)),
        )
        for index in range(processes)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join()
        if child.exitcode:
            raise SystemExit(f"a shard failed (exit code {child.exitcode})")
    wall = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    return wall, cpu


def synthetic_scoring_s_per_user(
    n_items: int = 100_000, factors: int = 64, users: int = 4096
) -> float:
    rng = np.random.default_rng(0)
    item_factors = rng.standard_normal((n_items, factors)).astype(np.float32)
    keys = np.arange(n_items).astype(str)
    started = time.perf_counter()
    for _ in range(0, users, precompute.model_lists.USER_BLOCK):
        vectors = rng.standard_normal((precompute.model_lists.USER_BLOCK, factors)).astype(
            np.float32
        )
        block = vectors @ item_factors.T
        precompute.model_lists.ranked_rows(keys, *precompute.model_lists.top_rows(block, LENGTH))
    return (time.perf_counter() - started) / users


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=2, help="shards written at once")
    args = parser.parse_args()
    reference = load_reference(RETAIL_PATH)
    interactions = reference.interactions
    n_users, n_items = interactions.shape
    artifact = EASE(device="cpu").fit(interactions.matrix).to_artifact()
    artifact.item_keys = interactions.item_map.to_array()
    state = customer_state(interactions)
    store = RedisListStore()
    store.delete_prefix("user:")

    scoring_s, written = timed_write(DiscardingStore(), artifact, state)
    total_s, written_redis = timed_write(store, artifact, state)
    stored = len(store.keys("user:"))
    store.delete_prefix("user:")
    write_per_list = max(total_s - scoring_s, 0.0) / max(written_redis, 1)
    one_wall, one_cpu = sharded_write(artifact, state, 1)
    store.delete_prefix("user:")
    many_wall, many_cpu = sharded_write(artifact, state, args.processes)
    sharded_stored = len(store.keys("user:"))
    store.delete_prefix("user:")
    per_user = synthetic_scoring_s_per_user()
    estimate_s = 1_000_000 * (per_user + write_per_list)

    print_header(
        "Precompute: for-you lists for every customer (top 100, seen items removed)",
        f"{CITATION} {n_users} customers x {n_items} items, EASE; machine: {machine()}",
    )
    print_table(
        ["run", "lists", "seconds", "per list (ms)"],
        [
            [
                "scoring only (lists discarded)",
                written,
                f"{scoring_s:.2f}",
                f"{1000 * scoring_s / written:.3f}",
            ],
            [
                "scoring + Redis writes",
                written_redis,
                f"{total_s:.2f}",
                f"{1000 * total_s / written_redis:.3f}",
            ],
            [
                "1M users x 100k items, ALS 64 (extrapolated)",
                "1,000,000",
                f"{estimate_s:.0f}",
                f"{1000 * (per_user + write_per_list):.3f}",
            ],
        ],
    )
    print(
        f"goal <= {GOAL_S} s for all customers: {'met' if total_s <= GOAL_S else 'not met'}; lists in Redis: {stored}"
    )
    print()
    print(f"Sharded precompute (PRECOMPUTE_SHARDS), forked processes, {os.cpu_count()} cores")
    print_table(
        ["processes", "lists", "wall s", "lists/s", "CPU s per 1,000 lists"],
        [
            [
                count,
                written_redis,
                f"{wall:.2f}",
                f"{written_redis / wall:,.0f}",
                f"{1000 * cpu / written_redis:.3f}",
            ]
            for count, wall, cpu in ((1, one_wall, one_cpu), (args.processes, many_wall, many_cpu))
        ],
    )
    print(
        f"speed-up with {args.processes} processes: {one_wall / many_wall:.2f} x "
        f"(lists in Redis after the sharded run: {sharded_stored})"
    )
    print(
        json.dumps(
            {
                "customers": written_redis,
                "precompute_s": round(total_s, 3),
                "scoring_s": round(scoring_s, 3),
                "estimate_1m_x_100k_s": round(estimate_s, 1),
                "sharded_processes": args.processes,
                "sharded_speedup": round(one_wall / many_wall, 3),
                "lists_per_s_1_process": round(written_redis / one_wall, 1),
                "lists_per_s_sharded": round(written_redis / many_wall, 1),
                "cpu_s_per_1000_lists_1_process": round(1000 * one_cpu / written_redis, 4),
                "cpu_s_per_1000_lists_sharded": round(1000 * many_cpu / written_redis, 4),
            }
        )
    )


if __name__ == "__main__":
    main()
