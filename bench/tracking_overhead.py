"""Tracking overhead on a product page: tracking on vs off, same server, same run.

Command:  .venv/bin/python bench/tracking_overhead.py [--seconds 4] [--rounds 10] [--no-pin]
Data:     200 generated products in a benchmark database (recommendations_bench).
Setup:    services mode (PostgreSQL, Redis stream, ingest consumer running), gunicorn sync
          workers, wrk on loopback, all on this machine.

"Off" requests add ``?track=0``, for which the demo's product view calls ``skip_view_tracking``:
the same page for the same visitors, only no view is recorded. "On" requests record a product
view (an XADD to the stream). Both arms hit the same process and take turns through the same 500
returning visitors (signed cookies, five recent items each in Redis to begin with), so both show
the personal "recently viewed" block. (Earlier runs sent ``Sec-GPC: 1`` as the off arm, which also
hid the personal block, and one visitor's cookie: that compared two different pages.)

On two or more CPUs the server is pinned (``taskset``) to CPU 0 with one worker and wrk and the
ingest consumer to CPU 1, so the load generator never takes the server's core and each request's
cost is measured on a core of its own; throughput then uses 4 connections, latency 1 (p50 is
service time, not queueing). ``--no-pin`` runs unpinned with 2 workers, 16 and 2 connections.

Each round measures both arms back to back, in an order that alternates between rounds; the ratio
is the geometric mean of the per-round ratios with its 95 % confidence interval, the added p50 the
mean of the per-round differences with its interval: pairing cancels the machine's drift.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import time

import _services as svc
from serving import prepare as prepare_visitors


def _settled_count(model) -> int:
    """Rows once the consumer has stored what was sent so far (no change for a second)."""
    count, deadline = -1, time.monotonic() + 60
    while time.monotonic() < deadline:
        now = model.objects.count()
        if now == count:
            return now
        count = now
        time.sleep(1.0)
    return count


def _wait_until_drained(timeout: float = 120.0) -> None:
    """Until the consumer group has read and acknowledged every message on the stream (the
    admin dashboard's backlog)."""
    from recommendations.monitoring.pipeline import stream_health

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stream_health().backlog == 0:
            return
        time.sleep(0.5)
    raise SystemExit("the consumer did not drain the stream")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=4, help="length of each wrk run")
    parser.add_argument("--rounds", type=int, default=10, help="paired rounds per load")
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to CPUs")
    parser.add_argument(
        "--consumer-after",
        action="store_true",
        help="start the ingest consumer only after the load (isolates the web process's own cost)",
    )
    args = parser.parse_args()
    pin = not args.no_pin and svc.cpu_count() >= 2
    server_cpus, client_cpus = ("0", "1") if pin else (None, None)
    workers = 1 if pin else 2
    loads = {"throughput": 4, "latency": 1} if pin else {"throughput": 16, "latency": 2}

    svc.prepare_database()
    svc.django_setup()
    pks = svc.ensure_products()
    svc.reset_stream()
    cookies = prepare_visitors(pks, 500)

    from recommendations.models import Event

    def script_for(arm: str) -> str:
        suffix = "?track=0" if arm == "off" else ""
        return svc.rotating_gets(
            [f"/products/{pk}/{suffix}" for pk in pks], cookies, {"User-Agent": svc.BROWSER_AGENT}
        )

    results: dict[tuple[str, str], list[svc.WrkResult]] = {
        (load, arm): [] for load in loads for arm in ("off", "on")
    }
    # The web workers' own CPU time per request (user + system, from /proc): what tracking costs
    # the process, whatever else the machine's scheduler does meanwhile.
    cpu_ms: dict[tuple[str, str], list[float]] = {key: [] for key in results}
    with contextlib.ExitStack() as running:
        if not args.consumer_after:
            running.enter_context(svc.consumer(cpus=client_cpus))
        # The bot burst limit stays on: 500 visitors stay far below it, and its counter is part
        # of what a tracked view costs.
        base, master = running.enter_context(svc.gunicorn(workers, cpus=server_cpus))
        server_pids = svc.worker_pids(master)

        def measure(load: str, arm: str, seconds: int) -> svc.WrkResult:
            cpu_before = sum(svc.cpu_seconds(pid) for pid in server_pids)
            result = svc.run_wrk(
                base,
                seconds=seconds,
                connections=loads[load],
                script=script_for(arm),
                cpus=client_cpus,
            )
            if result.non_2xx:
                raise SystemExit(f"{result.non_2xx} failed requests:\n{result.output}")
            cpu_ms[(load, arm)].append(
                (sum(svc.cpu_seconds(pid) for pid in server_pids) - cpu_before)
                * 1000
                / max(result.requests, 1)
            )
            return result

        for arm in ("off", "on"):  # warm-up
            measure("throughput", arm, 3)
        for samples in cpu_ms.values():
            samples.clear()
        if args.consumer_after:
            # What the preparation and the warm-up queued is stored now, so not counted below.
            with svc.consumer(cpus=client_cpus):
                _wait_until_drained()
                before = _settled_count(Event)
        else:
            before = _settled_count(Event)
        for round_ in range(args.rounds):
            order = ("off", "on") if round_ % 2 == 0 else ("on", "off")
            for load in loads:
                for arm in order:
                    result = measure(load, arm, args.seconds)
                    results[(load, arm)].append(result)
                    print(
                        f"  round {round_ + 1:>2} {load:>10} {arm:>3}: "
                        f"{result.requests_per_s:8.1f} req/s  "
                        f"p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms  "
                        f"CPU {cpu_ms[(load, arm)][-1]:6.2f} ms/request"
                    )
        tracked = sum(r.requests for (_, arm), rs in results.items() if arm == "on" for r in rs)
        if args.consumer_after:
            running.enter_context(svc.consumer(cpus=client_cpus))
        deadline = time.monotonic() + 60
        while Event.objects.count() - before < tracked and time.monotonic() < deadline:
            time.sleep(0.5)
    stored = Event.objects.count() - before

    def values(load: str, arm: str, attr: str) -> list[float]:
        return [getattr(r, attr) for r in results[(load, arm)]]

    def med(load: str, arm: str, attr: str) -> float:
        return statistics.median(values(load, arm, attr))

    ratio = svc.paired_ratio(
        values("throughput", "on", "requests_per_s"), values("throughput", "off", "requests_per_s")
    )
    added = svc.paired_difference(
        values("latency", "on", "p50_ms"), values("latency", "off", "p50_ms")
    )
    cpu_on = cpu_ms[("throughput", "on")] + cpu_ms[("latency", "on")]
    cpu_off = cpu_ms[("throughput", "off")] + cpu_ms[("latency", "off")]
    cpu_added = svc.paired_difference(cpu_on, cpu_off)
    figures = {
        "throughput_ratio": round(ratio.estimate, 4),
        "throughput_ratio_ci95": [round(ratio.low, 4), round(ratio.high, 4)],
        "p50_added_ms": round(added.estimate, 3),
        "p50_added_ms_ci95": [round(added.low, 3), round(added.high, 3)],
        "cpu_ms_per_request_added": round(cpu_added.estimate, 3),
        "cpu_ms_per_request_added_ci95": [round(cpu_added.low, 3), round(cpu_added.high, 3)],
        "cpu_ms_per_request_off": round(statistics.median(cpu_off), 3),
        "pinned": pin,
    }
    print()
    layout = (
        f"server pinned to CPU {server_cpus} ({workers} worker), wrk and consumer to CPU {client_cpus}"
        if pin
        else f"unpinned, {workers} workers"
    )
    print(
        f"Tracking overhead, product page (gunicorn sync + ingest consumer, wrk -t1, loopback; {layout})"
    )
    print(
        f"machine: {svc.machine()}; {args.rounds} paired rounds x {args.seconds}s per arm and load"
    )
    print(
        f"{'load':<24}{'arm':<14}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'CPU ms/req':>12}"
        "   (medians)"
    )
    for load, connections in loads.items():
        for arm, label in (("off", "tracking off"), ("on", "tracking on")):
            print(
                f"{f'{load} (c={connections})':<24}{label:<14}{med(load, arm, 'requests_per_s'):>10.1f}"
                f"{med(load, arm, 'p50_ms'):>10.2f}{med(load, arm, 'p99_ms'):>10.2f}"
                f"{statistics.median(cpu_ms[(load, arm)]):>12.3f}"
            )
    print(f"throughput ratio on/off (c={loads['throughput']}): {ratio.format()}")
    print(f"added p50 (c={loads['latency']}): {added.format(unit=' ms')}")
    print(f"added web-worker CPU per request (both loads): {cpu_added.format(unit=' ms')}")
    print(f"views tracked (requests wrk completed): {tracked}; new events stored: {stored}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
