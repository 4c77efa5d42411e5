"""Serving throughput: the for-you endpoint vs a bare DRF view on the same stack, same run.

Command:  .venv/bin/python bench/serving.py [--seconds 10] [--rounds 3]
Data:     200 generated products in 10 categories (recommendations_bench database), a precomputed
          "similar" list of 30 items per product, trending counters, and 500 returning visitors
          whose live recent items (5 each) are in Redis.
Setup:    services mode, gunicorn with 2 sync workers, wrk (1 thread, 16 connections) on loopback.

The baseline is ``/api/health/``, a DRF APIView returning a constant, through the same middleware.
Rounds alternate baseline / for-you; medians are compared. Then the for-you endpoint runs with
the fewest connections that reach 80 % of its measured peak, for the p50/p99 figures.
After the runs, each gunicorn worker's resident memory is read from /proc and its memory map is
checked for torch's native library.

``--model sequential``: the sequential model (64 dims, 2 blocks, fitted by the benchmark on
generated walks over the products, ``_services.sequential_model``) is the active for-you version,
so every for-you request also runs its encoder in numpy over the visitor's recent items.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import statistics

import _services as svc


def prepare(pks: list[int], visitors: int) -> list[str]:
    """Precomputed lists, live state and visitor cookies; returns the cookies."""
    from recommendations import redis_client
    from recommendations.tracking import live
    from recommendations.tracking.records import EventRecord
    from recommendations.tracking.sinks import deliver

    rng = random.Random(7)
    ids = svc.precompute_similar(pks)
    cookies = []
    records = []
    for v in range(visitors):
        visitor = f"{v:032x}"
        cookies.append(svc.signed_visitor_cookie(visitor))
        records += [
            EventRecord(kind=1, item_id=rng.choice(ids), visitor_id=visitor) for _ in range(5)
        ]
    live.update(redis_client.get_redis(timeout=5), records)
    deliver(records)  # also in the event table, for popularity
    return cookies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--visitors", type=int, default=500)
    parser.add_argument("--model", choices=("none", "sequential"), default="none")
    args = parser.parse_args()

    svc.prepare_database()
    svc.django_setup()
    pks = svc.ensure_products()
    svc.reset_stream()
    cookies = prepare(pks, args.visitors)
    paths = {
        "bare": "/api/health/",
        "for-you": "/recommendations/api/recommendations/for-you/?limit=8",
    }

    def script(arm: str) -> str:
        return svc.rotating_gets([paths[arm]], cookies)

    results: dict[str, list[svc.WrkResult]] = {"bare": [], "for-you": []}
    env = {"RECOMMENDATIONS_THROTTLE_RATE": "", "BEACON_THROTTLE_RATE": ""}
    model = svc.sequential_model(pks) if args.model == "sequential" else contextlib.nullcontext()
    with model, svc.consumer(), svc.gunicorn(extra_env=env) as (base, master):
        from recommendations.precompute import refresh_popularity

        refresh_popularity()
        for arm in results:  # warm-up
            svc.run_wrk(base, seconds=3, connections=16, script=script(arm))
        for _ in range(args.rounds):
            for arm in results:
                result = svc.run_wrk(base, seconds=args.seconds, connections=16, script=script(arm))
                if result.non_2xx:
                    raise SystemExit(f"{result.non_2xx} failed requests:\n{result.output}")
                results[arm].append(result)
                print(
                    f"  {arm:>8}: {result.requests_per_s:8.1f} req/s  p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms"
                )
        peak = statistics.median(r.requests_per_s for r in results["for-you"])
        # Latency at about 80 % of peak: the fewest connections whose throughput reaches it
        # (wrk is closed-loop, so load is set by concurrency).
        paced = None
        for connections in range(1, 17):
            paced = svc.run_wrk(base, seconds=5, connections=connections, script=script("for-you"))
            if paced.requests_per_s >= 0.8 * peak:
                break
        workers = svc.worker_pids(master)
        rss = max(svc.rss_mb(pid) for pid in workers)
        torch_imported = any(svc.torch_loaded(pid) for pid in workers)

    def med(arm: str, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in results[arm])

    figures = {
        "rps": round(med("for-you", "requests_per_s"), 1),
        "bare_rps": round(med("bare", "requests_per_s"), 1),
        "throughput_ratio": round(
            med("for-you", "requests_per_s") / med("bare", "requests_per_s"), 3
        ),
        "p50_ms": round(paced.p50_ms, 2),
        "p99_ms": round(paced.p99_ms, 2),
        "worker_rss_mb": round(rss, 1),
        "torch_imported": torch_imported,
        "model": args.model,
    }
    print()
    print(
        "Serving: for-you endpoint vs bare DRF view (gunicorn 2 sync workers, wrk -t1 -c16, loopback)"
    )
    print(f"machine: {svc.machine()}; {args.rounds} rounds x {args.seconds}s per arm, medians")
    print(f"{'endpoint':<28}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    print(
        f"{'bare DRF view':<28}{med('bare', 'requests_per_s'):>10.1f}{med('bare', 'p50_ms'):>10.2f}{med('bare', 'p99_ms'):>10.2f}"
    )
    print(
        f"{'for-you (peak)':<28}{figures['rps']:>10.1f}{med('for-you', 'p50_ms'):>10.2f}{med('for-you', 'p99_ms'):>10.2f}"
    )
    print(
        f"{f'for-you, c={connections} (80% load)':<28}{paced.requests_per_s:>10.1f}{paced.p50_ms:>10.2f}{paced.p99_ms:>10.2f}"
    )
    print(
        f"throughput ratio: {figures['throughput_ratio']:.3f}; worker RSS {rss:.1f} MB; torch imported: {torch_imported}"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
