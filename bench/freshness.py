"""Freshness: how long from a product view until the visitor's for-you list reflects it.

Command:  .venv/bin/python bench/freshness.py [--trials 100]
Data:     200 generated products with precomputed "similar" lists (recommendations_bench database).
Setup:    services mode: gunicorn (2 sync workers) and one ingest consumer running, on loopback.

Each trial is a new visitor: it opens a product page (the middleware appends the view to the Redis
stream), then polls its for-you endpoint every 5 ms until the first item's reason is "because you
viewed" that product. The time is measured from the end of the product-page response (the event
is accepted) to the first for-you response that shows it.

``--model sequential``: the sequential model (fitted by the benchmark on generated walks over the
products, ``_services.sequential_model``) is the active for-you version, scored by the web workers
with numpy; a trial ends at the first for-you response holding an item the model chose for that
visitor from the view (reason "personalised": a new visitor has no precomputed list).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import statistics
import time
import urllib.request

import _services as svc


def get(url: str, cookie: str) -> bytes:
    request = urllib.request.Request(
        url, headers={"Cookie": cookie, "User-Agent": svc.BROWSER_AGENT}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read()


def shows(body: dict, item: str, model: str) -> bool:
    """Whether a for-you response reflects the view of ``item``."""
    if model == "sequential":
        return any(entry["reason"].get("kind") == "personalised" for entry in body["items"])
    first = body["items"][0]["reason"] if body["items"] else {}
    return first.get("kind") == "because-viewed" and first.get("about") == item


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="seconds before a trial counts as failed"
    )
    parser.add_argument("--model", choices=("none", "sequential"), default="none")
    args = parser.parse_args()

    svc.prepare_database()
    svc.django_setup()
    pks = svc.ensure_products()
    svc.reset_stream()
    ids = svc.precompute_similar(pks)
    rng = random.Random(11)
    latencies: list[float] = []
    failed = 0
    model = svc.sequential_model(pks) if args.model == "sequential" else contextlib.nullcontext()
    env = {"RECOMMENDATIONS_THROTTLE_RATE": ""}
    with model, svc.consumer(), svc.gunicorn(extra_env=env) as (base, _):
        for trial in range(args.trials):
            cookie = svc.signed_visitor_cookie(f"f{trial:031x}")
            item = rng.choice(ids)
            get(f"{base}/products/{item}/", cookie)
            accepted = time.perf_counter()
            while True:
                body = json.loads(
                    get(f"{base}/recommendations/api/recommendations/for-you/?limit=8", cookie)
                )
                if shows(body, item, args.model):
                    latencies.append(time.perf_counter() - accepted)
                    break
                if time.perf_counter() - accepted > args.timeout:
                    failed += 1
                    break
                time.sleep(0.005)
    if not latencies:
        raise SystemExit("no trial saw its view reflected")
    latencies.sort()
    p50 = statistics.median(latencies)
    p95 = statistics.quantiles(latencies, n=20, method="inclusive")[18]
    figures = {
        "p50_s": round(p50, 4),
        "p95_s": round(p95, 4),
        "trials": len(latencies),
        "model": args.model,
    }
    print()
    print(
        "Freshness: product view -> for-you list shows it (services mode, gunicorn + ingest consumer)"
    )
    print(
        f"machine: {svc.machine()}; {args.trials} trials, one new visitor each; {failed} timed out"
    )
    print(f"{'':<12}{'seconds':>10}")
    for label, value in (("p50", p50), ("p95", p95), ("max", latencies[-1]), ("min", latencies[0])):
        print(f"{label:<12}{value:>10.4f}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
