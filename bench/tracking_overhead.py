"""Tracking overhead on a product page: tracking on vs off, same server, same run.

Command:  .venv/bin/python bench/tracking_overhead.py [--seconds 10] [--rounds 3]
Data:     200 generated products in a benchmark database (recommendations_bench).
Setup:    services mode (PostgreSQL, Redis stream, ingest consumer running), gunicorn with 2 sync
          workers, wrk on loopback, all on this machine. Throughput with 16 connections; latency
          with 2 connections (one per worker, so p50 is service time rather than queueing).

"Off" requests carry ``Sec-GPC: 1``, which the middleware honours by tracking nothing, so both arms
hit the same process with the same page; "on" requests record a product view (an XADD to the
stream). Both arms send the same signed visitor cookie (a returning visitor). Rounds alternate
off/on so drift in the machine affects both arms alike; the medians are compared.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import time

import _services as svc

SCRIPT = """
local paths = {%(paths)s}
local gpc = %(gpc)s
local n = 0
request = function()
  n = n + 1
  local headers = {["Cookie"] = "%(cookie)s"}
  if gpc then headers["Sec-GPC"] = "1" end
  return wrk.format("GET", paths[(n %% #paths) + 1], headers)
end
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="length of each wrk round")
    parser.add_argument("--rounds", type=int, default=6, help="rounds per arm")
    parser.add_argument(
        "--consumer-after",
        action="store_true",
        help="start the ingest consumer only after the load (isolates the web process's own cost)",
    )
    args = parser.parse_args()

    svc.prepare_database()
    svc.django_setup()
    pks = svc.ensure_products()
    svc.reset_stream()
    cookie = svc.signed_visitor_cookie("b" * 32)
    paths = ",".join(f'"/products/{pk}/"' for pk in pks)

    from recommendations.models import Event

    def script_for(arm: str) -> str:
        gpc = "true" if arm == "off" else "false"
        return SCRIPT % {"paths": paths, "gpc": gpc, "cookie": cookie}

    before = Event.objects.count()
    # Throughput under load (16 connections), and latency without queueing (2 connections: one
    # per worker), each arm alternating with the other in every round.
    loads = {"throughput": 16, "latency": 2}
    results: dict[tuple[str, str], list[svc.WrkResult]] = {
        (load, arm): [] for load in loads for arm in ("off", "on")
    }
    with contextlib.ExitStack() as running:
        if not args.consumer_after:
            running.enter_context(svc.consumer())
        # One visitor's cookie replayed at full speed would trip the bot burst limit and
        # measure quarantine counting instead of event capture.
        base, _ = running.enter_context(svc.gunicorn(extra_env={"BOT_BURST_LIMIT": ""}))
        for arm in ("off", "on"):  # warm-up
            svc.run_wrk(base, seconds=3, connections=16, script=script_for(arm))
        for _ in range(args.rounds):
            for load, connections in loads.items():
                for arm in ("off", "on"):
                    result = svc.run_wrk(
                        base, seconds=args.seconds, connections=connections, script=script_for(arm)
                    )
                    if result.non_2xx:
                        raise SystemExit(f"{result.non_2xx} failed requests:\n{result.output}")
                    results[(load, arm)].append(result)
                    print(
                        f"  {load:>10} {arm:>3}: {result.requests_per_s:8.1f} req/s  "
                        f"p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms"
                    )
        tracked = sum(r.requests for (_, arm), rs in results.items() if arm == "on" for r in rs)
        if args.consumer_after:
            running.enter_context(svc.consumer())
        deadline = time.monotonic() + 60
        while Event.objects.count() - before < tracked and time.monotonic() < deadline:
            time.sleep(0.5)
    stored = Event.objects.count() - before

    def med(load: str, arm: str, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in results[(load, arm)])

    figures = {
        "throughput_ratio": round(
            med("throughput", "on", "requests_per_s") / med("throughput", "off", "requests_per_s"),
            4,
        ),
        "p50_added_ms": round(med("latency", "on", "p50_ms") - med("latency", "off", "p50_ms"), 3),
    }
    print()
    print(
        "Tracking overhead, product page (gunicorn 2 sync workers + ingest consumer, wrk -t1, loopback)"
    )
    print(
        f"machine: {svc.machine()}; rounds: {args.rounds} x {args.seconds}s per arm and load, medians"
    )
    print(f"{'load':<24}{'arm':<14}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    for load, connections in loads.items():
        for arm, label in (("off", "tracking off"), ("on", "tracking on")):
            print(
                f"{f'{load} (c={connections})':<24}{label:<14}{med(load, arm, 'requests_per_s'):>10.1f}"
                f"{med(load, arm, 'p50_ms'):>10.2f}{med(load, arm, 'p99_ms'):>10.2f}"
            )
    print(
        f"throughput ratio on/off (c=16): {figures['throughput_ratio']:.3f}; "
        f"added p50 (c=2): {figures['p50_added_ms']:.3f} ms"
    )
    print(f"views tracked (requests wrk completed): {tracked}; new events stored: {stored}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
