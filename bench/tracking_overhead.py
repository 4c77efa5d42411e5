"""Tracking overhead on a product page: tracking on vs off, same server, same run.

Command:  .venv/bin/python bench/tracking_overhead.py [--seconds 10] [--rounds 3]
Data:     200 generated products in a benchmark database (recommendations_bench).
Setup:    services mode (PostgreSQL, Redis stream, ingest consumer running), gunicorn with 2 sync
          workers, wrk (1 thread, 16 connections) on loopback, all on this machine.

"Off" requests carry ``Sec-GPC: 1``, which the middleware honours by tracking nothing, so both arms
hit the same process with the same page; "on" requests record a product view (an XADD to the
stream). Both arms send the same signed visitor cookie (a returning visitor). Rounds alternate
off/on so drift in the machine affects both arms alike; the medians are compared.
"""

from __future__ import annotations

import argparse
import json
import statistics

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
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per arm")
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
    results: dict[str, list[svc.WrkResult]] = {"off": [], "on": []}
    with svc.consumer(), svc.gunicorn() as (base, _):
        for arm in ("off", "on"):  # warm-up
            svc.run_wrk(base, seconds=3, connections=16, script=script_for(arm))
        for _ in range(args.rounds):
            for arm in ("off", "on"):
                script = script_for(arm)
                result = svc.run_wrk(base, seconds=args.seconds, connections=16, script=script)
                if result.non_2xx:
                    raise SystemExit(f"{result.non_2xx} failed requests:\n{result.output}")
                results[arm].append(result)
                print(
                    f"  {arm:>3}: {result.requests_per_s:8.1f} req/s  p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms"
                )
        tracked = sum(r.requests for r in results["on"])
        import time

        deadline = time.monotonic() + 60
        while Event.objects.count() - before < tracked and time.monotonic() < deadline:
            time.sleep(0.5)
    stored = Event.objects.count() - before

    def med(arm: str, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in results[arm])

    off_rps, on_rps = med("off", "requests_per_s"), med("on", "requests_per_s")
    figures = {
        "throughput_ratio": round(on_rps / off_rps, 4),
        "p50_added_ms": round(med("on", "p50_ms") - med("off", "p50_ms"), 3),
    }
    print()
    print("Tracking overhead, product page (gunicorn 2 sync workers, wrk -t1 -c16, loopback)")
    print(f"machine: {svc.machine()}; rounds: {args.rounds} x {args.seconds}s per arm, medians")
    print(f"{'arm':<14}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    for arm, label in (("off", "tracking off"), ("on", "tracking on")):
        print(
            f"{label:<14}{med(arm, 'requests_per_s'):>10.1f}{med(arm, 'p50_ms'):>10.2f}{med(arm, 'p99_ms'):>10.2f}"
        )
    print(
        f"ratio on/off: {figures['throughput_ratio']:.3f}; added p50: {figures['p50_added_ms']:.3f} ms"
    )
    print(f"views tracked: {tracked}; stored by the consumer: {stored}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
