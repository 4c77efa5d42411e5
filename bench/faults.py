"""Redis faults: product-page and recommendations-API latency with Redis up, killed and hung.

Command:  .venv/bin/python bench/faults.py [--seconds 12] [--connections 4]
Data:     the demo store (``shop_seed_demo --customers 1900``: 300 products, four weeks of
          browsing and orders, 153,957 events with the seeder of this writing; the printed data
          line gives the counts of the run) in a fresh PostgreSQL database of its own
          (recommendations_bench_faults, analysed after the load), trained with
          ``recommendations_train --full``, then every precomputed list and the popularity lists
          written, as a Celery worker would; 500 new visitors (signed cookies, a browser user
          agent) spread over all product pages and all products' API calls.
Setup:    services mode with a private redis-server that the benchmark starts on a free port (the
          shared one is never touched), gunicorn with 2 sync workers, one ingest consumer, wrk
          (1 thread) on loopback; the default breaker (``REDIS_TIMEOUT`` 0.25 s,
          ``REDIS_RETRY_AFTER`` 5 s); the API throttle on with a rate nobody reaches, so its
          counter is still read on every API request.

Phases, in one run, the same server throughout: (1) Redis up; (2) redis-server killed with
SIGKILL; (3) restarted on the same port from a snapshot taken just before the kill, and up again
once every tracked view reaches its stream; (4) hung with SIGSTOP (it accepts connections and
never answers), then SIGCONT. In each faulty phase one request per worker is made first (the first
failed call, timed and reported), then wrk measures the product page ``/products/<pk>/`` over all
products and the API's ``similar/?item=<pk>`` in turn. The baseline is phase 1: the figures are
p99 killed / p99 up and p99 hung / p99 up. Phase 3 measures the same as phase 1 again, after the
restart, as a gauge of the machine's drift within the run. While Redis is stopped the kernel
queues what clients send it; Redis executes that after SIGCONT, so the commands it processed
across the hung phase are counted against the requests served: with the breaker honoured that is
a few probes per worker every ``REDIS_RETRY_AFTER``, not several commands per request.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "recommendations_bench_faults"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


REDIS_PORT = free_port()
os.environ.setdefault("BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DB_NAME}")
# Always a private Redis: this benchmark kills and stops it.
os.environ["BENCH_REDIS_URL"] = f"redis://127.0.0.1:{REDIS_PORT}/0"
os.environ.setdefault("BENCH_PORT", str(free_port()))
sys.path.insert(0, str(ROOT / "bench"))

import _services as svc  # noqa: E402

CUSTOMERS = 1900
VISITORS = 500
WORKERS = 2
API = "/recommendations/api/recommendations/similar/?item={}"

#: Counts the requests slower than the breaker's timeout (wrk's own summary stops at p99).
SLOW_REQUESTS = """
done = function(summary, latency, requests)
  local slow = 0
  for i = 1, #latency do
    local value, count = latency(i)
    if value >= %(slow_us)d then slow = slow + count end
  end
  io.write(string.format("slow requests: %%d\\n", slow))
  io.write(string.format("max us: %%d\\n", latency.max))
end
"""


class RedisServer:
    """A redis-server of the benchmark's own; its snapshot file lets a restart keep the data."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.directory = tempfile.mkdtemp(prefix="recommendations-bench-faults-")
        self.proc: subprocess.Popen | None = None
        self.stopped = False

    def client(self):
        import redis

        return redis.Redis(port=self.port, socket_timeout=5)

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is needed for this benchmark")
        self.proc = subprocess.Popen(
            [
                binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", self.directory, "--dbfilename", "dump.rdb",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.client().ping():
                    return
            except OSError:
                pass
            except Exception as exc:  # redis.ConnectionError, BusyLoadingError while loading
                if time.monotonic() > deadline:
                    raise SystemExit(f"redis-server did not start: {exc}") from None
            time.sleep(0.05)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def pause(self) -> None:
        self.proc.send_signal(signal.SIGSTOP)
        self.stopped = True

    def resume(self) -> None:
        self.proc.send_signal(signal.SIGCONT)
        self.stopped = False

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            if self.stopped:
                self.resume()
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        shutil.rmtree(self.directory, ignore_errors=True)


@contextlib.contextmanager
def private_redis() -> Iterator[RedisServer]:
    server = RedisServer(REDIS_PORT)
    try:
        server.start()
        yield server
    finally:
        server.close()


def commands(server: RedisServer) -> dict[str, int]:
    """Commands Redis has processed: in total and XADDs (one per tracked view)."""
    client = server.client()
    total = int(client.info("stats")["total_commands_processed"])
    xadd = client.info("commandstats").get("cmdstat_xadd", {}).get("calls", 0)
    return {"total": total, "xadd": int(xadd)}


def fresh_store() -> float:
    """A new database with the demo store, trained once; returns the seconds it took."""
    started = time.perf_counter()
    for sql in (f"DROP DATABASE IF EXISTS {DB_NAME}", f"CREATE DATABASE {DB_NAME}"):
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True)
    manage = [svc.PYTHON, "manage.py"]
    for command in (
        ["migrate", "-v0"],
        ["shop_seed_demo", "--customers", str(CUSTOMERS), "-v0"],
        ["recommendations_train", "--full"],
    ):
        subprocess.run(
            [*manage, *command],
            cwd=ROOT,
            env=svc.env(),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    # Fresh planner statistics, as autovacuum would gather soon after a bulk load: with none, the
    # database fallbacks measured here would pay for plans made for an empty table.
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", DB_NAME, "-qc", "VACUUM ANALYZE"],
        check=True,
    )
    svc.django_setup()
    from recommendations.precompute import refresh_popularity
    from recommendations.tasks import precompute_lists

    precompute_lists()  # what the Celery worker does after a promotion
    refresh_popularity()
    return time.perf_counter() - started


def get(url: str, cookie: str) -> tuple[int, float]:
    """Status and seconds of one request."""
    request = urllib.request.Request(
        url,
        headers={
            "User-Agent": svc.BROWSER_AGENT,
            "Accept": "text/html,application/json",
            "Cookie": cookie,
        },
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    return status, time.perf_counter() - started


def first_calls(urls: list[str], cookies: list[str]) -> tuple[float, list[int]]:
    """One request per worker at once (a sync worker that is waiting on Redis accepts nothing,
    so the other takes the second), for each URL; the slowest time and every status."""
    times: list[float] = []
    statuses: list[int] = []
    for url in urls:
        results: list[tuple[int, float]] = []

        def call(url: str, cookie: str, results: list[tuple[int, float]] = results) -> None:
            results.append(get(url, cookie))

        threads = [threading.Thread(target=call, args=(url, cookies[i])) for i in range(WORKERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        statuses += [status for status, _ in results]
        times += [seconds for _, seconds in results]
    return max(times), statuses


@contextlib.contextmanager
def phase_timer() -> Iterator[list[float]]:
    started = time.perf_counter()
    box: list[float] = []
    yield box
    box.append(time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=12, help="length of each wrk run")
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()
    wall = time.perf_counter()

    with private_redis() as server:
        setup_s = fresh_store()
        from django.db.models import Count

        from recommendations.conf import app_settings
        from recommendations.models import Event, EventKind
        from shop.catalog_queries import visible_products

        pks = list(visible_products().order_by("pk").values_list("pk", flat=True))
        events = Event.objects.count()
        by_kind = dict(Event.objects.values_list("kind").annotate(n=Count("pk")))
        cookies = [svc.signed_visitor_cookie(f"fa{v:030x}") for v in range(VISITORS)]
        timeout_s = float(app_settings.REDIS_TIMEOUT)
        retry_after_s = float(app_settings.REDIS_RETRY_AFTER)
        targets = {
            "product page": [f"/products/{pk}/" for pk in pks],
            "similar API": [API.format(pk) for pk in pks],
        }

        def script(target: str) -> str:
            return svc.rotating_gets(
                targets[target],
                cookies,
                {"User-Agent": svc.BROWSER_AGENT, "Accept": "text/html,application/json"},
                extra=SLOW_REQUESTS % {"slow_us": int(timeout_s * 1_000_000)},
            )

        rows: dict[tuple[str, str], svc.WrkResult] = {}
        firsts: dict[str, float] = {}
        extra: dict[str, object] = {}
        failures: list[str] = []

        def measure(phase: str, base: str) -> None:
            for target in targets:
                result = svc.run_wrk(
                    base, seconds=args.seconds, connections=args.connections, script=script(target)
                )
                rows[(phase, target)] = result
                errors = re.search(r"Socket errors: (.*)", result.output)
                if result.non_2xx or errors:
                    failures.append(
                        f"{phase}, {target}: {result.non_2xx} non-2xx"
                        + (f"; socket errors: {errors[1]}" if errors else "")
                    )
                print(
                    f"  {phase:>18} {target:>12}: {result.requests_per_s:7.1f} req/s  "
                    f"p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms  "
                    f"non-2xx {result.non_2xx}",
                    flush=True,
                )

        def first(phase: str, base: str) -> None:
            urls = [base + paths[0] for paths in targets.values()]
            seconds, statuses = first_calls(urls, cookies)
            firsts[phase] = seconds
            bad = [status for status in statuses if not 200 <= status < 300]
            if bad:
                failures.append(f"{phase}, first calls: statuses {bad}")
            print(
                f"  {phase:>18} first calls: slowest {seconds * 1000:.1f} ms, statuses {statuses}"
            )

        gunicorn_env = {"RECOMMENDATIONS_THROTTLE_RATE": "1000000/min"}
        with svc.consumer(), svc.gunicorn(workers=WORKERS, extra_env=gunicorn_env) as (base, _):
            for target in targets:  # warm-up
                svc.run_wrk(base, seconds=3, connections=args.connections, script=script(target))
            measure("up", base)

            server.client().save()  # the restart below comes back with this data
            server.kill()
            first("killed", base)
            measure("killed", base)

            restarted = time.perf_counter()
            server.start()
            # Up again when every tracked view reaches the stream: both workers' breakers closed.
            deadline = time.monotonic() + 60
            while True:
                before = commands(server)["xadd"]
                for i in range(10):
                    get(base + targets["product page"][i], cookies[i])
                if commands(server)["xadd"] - before == 10:
                    break
                if time.monotonic() > deadline:
                    raise SystemExit("the workers did not return to Redis within 60 s")
                time.sleep(0.2)
            extra["recovery_s"] = round(time.perf_counter() - restarted, 2)
            print(
                f"  restarted; every view tracked through Redis again after {extra['recovery_s']} s"
            )
            measure("up after restart", base)

            before = commands(server)
            server.pause()
            try:
                first("hung", base)
                measure("hung", base)
            finally:
                server.resume()
            time.sleep(1.0)  # Redis works through what the kernel queued while it was stopped
            after = commands(server)
            # Less the benchmark's own two INFO calls before the pause; what is left includes the
            # consumer's reads in that second and redis-py's handshake on each new connection.
            extra["hung_commands"] = after["total"] - before["total"] - 2

    hung_requests = sum(rows[("hung", target)].requests for target in targets) + 2 * WORKERS
    phases = ["up", "killed", "up after restart", "hung"]

    def ratio(phase: str, target: str) -> float:
        return rows[(phase, target)].p99_ms / rows[("up", target)].p99_ms

    def slow(result: svc.WrkResult) -> int:
        return int(re.search(r"slow requests: (\d+)", result.output)[1])

    def max_ms(result: svc.WrkResult) -> float:
        return int(re.search(r"max us: (\d+)", result.output)[1]) / 1000

    print()
    print(
        "Redis faults: product page and similar API, Redis up / killed (SIGKILL) / hung (SIGSTOP), "
        f"gunicorn {WORKERS} sync workers, wrk -t1 -c{args.connections}, loopback"
    )
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(
        f"data:    demo store (shop_seed_demo --customers {CUSTOMERS}): {len(pks)} products, "
        f"{events:,} events ({', '.join(f'{EventKind(k).name.lower()} {n:,}' for k, n in sorted(by_kind.items()))}); "
        f"trained, lists precomputed (setup {setup_s:.0f} s, untimed); {VISITORS} visitor cookies"
    )
    print(
        f"machine: {svc.machine()}; {args.seconds} s of wrk per phase and endpoint; breaker: "
        f"REDIS_TIMEOUT {timeout_s:g} s, REDIS_RETRY_AFTER {retry_after_s:g} s"
    )
    header = (
        f"{'phase':<18}{'endpoint':<14}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
        f"{'requests':>10}{'non-2xx':>9}{f'>={timeout_s * 1000:g}ms':>9}{'p99/up':>8}"
    )
    print(header)
    for phase in phases:
        for target in targets:
            r = rows[(phase, target)]
            print(
                f"{phase:<18}{target:<14}{r.requests_per_s:>9.1f}{r.p50_ms:>9.2f}{r.p99_ms:>9.2f}"
                f"{max_ms(r):>9.1f}{r.requests:>10}{r.non_2xx:>9}{slow(r):>9}"
                f"{ratio(phase, target):>8.2f}"
            )
    print(
        f"first calls after the fault (one per worker and endpoint, slowest): killed "
        f"{firsts['killed'] * 1000:.1f} ms, hung {firsts['hung'] * 1000:.1f} ms"
    )
    print(
        f"restart: every view tracked through Redis again after {extra['recovery_s']} s; "
        f"commands Redis received while hung: {extra['hung_commands']} for {hung_requests} requests "
        f"(one probe per worker per {retry_after_s:g} s would be about "
        f"{WORKERS * (2 * args.seconds / retry_after_s + 1):.0f} probes)"
    )
    ratios = {
        f"{key}_{fault}_ratio": round(ratio(fault, target), 3)
        for key, target in (("page", "product page"), ("api", "similar API"))
        for fault in ("killed", "hung")
    }
    met = all(value < 2.0 for value in ratios.values()) and not failures
    for failure in failures:
        print(f"FAILED REQUESTS: {failure}")
    print(
        f"goal (p99 under a fault < 2 x p99 up, no failed request): {'met' if met else 'not met'}; "
        f"total {time.perf_counter() - wall:.0f} s"
    )
    figures = {
        **{
            f"{key}_{phase.replace(' ', '_')}_p99_ms": round(rows[(phase, target)].p99_ms, 2)
            for key, target in (("page", "product page"), ("api", "similar API"))
            for phase in phases
        },
        **ratios,
        "first_call_killed_ms": round(firsts["killed"] * 1000, 1),
        "first_call_hung_ms": round(firsts["hung"] * 1000, 1),
        "hung_commands": extra["hung_commands"],
        "hung_requests": hung_requests,
        "non_2xx": sum(r.non_2xx for r in rows.values()),
        "goal_met": met,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
