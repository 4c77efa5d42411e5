"""Recommendation blocks on a storefront page: the product page with three blocks vs without them.

Command:  .venv/bin/python bench/page_slots.py [--seconds 5] [--rounds 8]
Data:     200 generated products in 10 categories (recommendations_bench database), a precomputed
          "similar" and "also-viewed" list of 30 items per product, trending counters, and 500
          returning visitors whose live recent items (5 each) are in Redis.
Setup:    services mode (ingest consumer running), gunicorn with 2 sync workers, wrk on loopback.
          Throughput with 16 connections; latency with 2 connections (one per worker, so p50 is
          service time rather than queueing).

Both arms request the demo shop's product page (the same view, so the product view is tracked in
both) for products taken in turn, each request with the next visitor's signed cookie. ``?blocks=3``
renders it with three blocks by the ``{% recommendations %}`` template tag, as a store's template
would ("similar" and "also-viewed" for the product, "recently-viewed" for the visitor);
``?blocks=0`` renders the same page without them (``shop/views.py``, ``templates/shop/bench/``).
The anonymous product blocks are shared fragments in the cache, as in production; the
recently-viewed block is computed for each request. Each round runs both arms back to back, in
an order that alternates between rounds, so drift in the machine affects both alike; the ratio is
the geometric mean of the per-round ratios and the added p50 the mean of the per-round
differences, each with a 95 % Student's t interval (the table shows medians).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics

import _services as svc
from serving import prepare as prepare_visitors

ARMS = {"plain": "0", "blocks": "3"}
#: Products the load walks over (a shop's pages are not equally popular; the fragment cache then
#: holds what a real one would).
PAGES = 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--visitors", type=int, default=500)
    args = parser.parse_args()

    svc.prepare_database()
    svc.django_setup()
    pks = svc.ensure_products()
    svc.reset_stream()
    cookies = prepare_visitors(pks, args.visitors)
    svc.precompute_related(pks, "also-viewed")
    pages = random.Random(5).sample(pks, PAGES)

    def script(arm: str) -> str:
        return svc.rotating_gets([f"/products/{pk}/?blocks={ARMS[arm]}" for pk in pages], cookies)

    results: dict[str, dict[str, list[svc.WrkResult]]] = {
        "throughput": {arm: [] for arm in ARMS},
        "latency": {arm: [] for arm in ARMS},
    }
    env = {"RECOMMENDATIONS_THROTTLE_RATE": "", "BEACON_THROTTLE_RATE": ""}
    with svc.consumer(), svc.gunicorn(extra_env=env) as (base, _master):
        from recommendations.precompute import refresh_popularity

        refresh_popularity()
        for arm in ARMS:  # warm-up: templates compiled, catalogue copy and fragments filled
            svc.run_wrk(base, seconds=3, connections=16, script=script(arm))
        for round_ in range(args.rounds):
            order = list(ARMS) if round_ % 2 == 0 else list(reversed(ARMS))
            for kind, connections in (("throughput", 16), ("latency", 2)):
                for arm in order:
                    result = svc.run_wrk(
                        base, seconds=args.seconds, connections=connections, script=script(arm)
                    )
                    if result.non_2xx:
                        raise SystemExit(f"{result.non_2xx} failed requests:\n{result.output}")
                    results[kind][arm].append(result)
                    print(
                        f"  {kind:>10} {arm:>6}: {result.requests_per_s:8.1f} req/s  "
                        f"p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms"
                    )

    def med(kind: str, arm: str, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in results[kind][arm])

    def values(kind: str, arm: str, attr: str) -> list[float]:
        return [getattr(r, attr) for r in results[kind][arm]]

    ratio = svc.paired_ratio(
        values("throughput", "blocks", "requests_per_s"),
        values("throughput", "plain", "requests_per_s"),
    )
    added = svc.paired_difference(
        values("latency", "blocks", "p50_ms"), values("latency", "plain", "p50_ms")
    )
    figures = {
        "throughput_ratio": round(ratio.estimate, 3),
        "p50_added_ms": round(added.estimate, 3),
        "throughput_ratio_ci95": [round(ratio.low, 3), round(ratio.high, 3)],
        "p50_added_ms_ci95": [round(added.low, 3), round(added.high, 3)],
        "blocks_rps": round(med("throughput", "blocks", "requests_per_s"), 1),
        "plain_rps": round(med("throughput", "plain", "requests_per_s"), 1),
        "p99_added_ms": round(
            med("latency", "blocks", "p99_ms") - med("latency", "plain", "p99_ms"), 3
        ),
    }
    print()
    print(
        "Page slots: product page with three recommendation blocks vs without "
        "(gunicorn 2 sync workers, wrk -t1, loopback)"
    )
    print(f"machine: {svc.machine()}; {args.rounds} rounds x {args.seconds}s per arm, medians")
    print(f"{'page':<26}{'req/s (c=16)':>14}{'p50 ms (c=2)':>14}{'p99 ms (c=2)':>14}")
    for arm, label in (("plain", "without blocks"), ("blocks", "with three blocks")):
        print(
            f"{label:<26}{med('throughput', arm, 'requests_per_s'):>14.1f}"
            f"{med('latency', arm, 'p50_ms'):>14.2f}{med('latency', arm, 'p99_ms'):>14.2f}"
        )
    print(f"throughput ratio (c=16): {ratio.format()}")
    print(f"added p50 (c=2): {added.format(unit=' ms')}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
