"""Shared plumbing for the HTTP benchmarks: a benchmark database, gunicorn, the consumer and wrk.

Everything started here is stopped by PID when the benchmark ends.
"""

from __future__ import annotations

import contextlib
import math
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DB_NAME = "recommendations_bench"
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DB_NAME}")
# Database 13: `make test`'s two workers use 15 and 14 (tests/parallel.py).
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
PORT = int(os.environ.get("BENCH_PORT", "8765"))


def env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "DJANGO_DEBUG": "0",
        "DJANGO_SETTINGS_MODULE": "shop.settings",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


#: What the benchmarks' clients say they are: urllib's own user agent counts as a bot (crawlerdetect),
#: whose views are quarantined, not tracked.
BROWSER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36"
)


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def prepare_database() -> None:
    """Create and migrate the benchmark database; PostgreSQL and Redis must be running."""
    created = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {DB_NAME}"],
        capture_output=True,
        text=True,
    )
    if created.returncode and "already exists" not in created.stderr:
        raise SystemExit(f"Cannot create the benchmark database: {created.stderr.strip()}")
    subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env(), check=True)
    # Every benchmark starts from an empty event table: left-over rows (and the vacuum that
    # deleting them would cause) must not run during the next benchmark's measurements.
    subprocess.run(
        [
            "psql", "-h", "127.0.0.1", "-U", "postgres", "-d", DB_NAME, "-qc",
            "TRUNCATE recommendations_event, recommendations_visitorlink; CHECKPOINT;",
        ],
        check=True,
    )  # fmt: skip


def django_setup() -> None:
    os.environ.update(env())
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def ensure_products(count: int = 200, categories: int = 10) -> list[int]:
    """Product pks of a small catalogue spread over a few categories, created once."""
    from decimal import Decimal

    from shop.models import Category, Product

    cats = [
        Category.objects.get_or_create(slug=f"bench-{c}", defaults={"name": f"Bench {c}"})[0]
        for c in range(categories)
    ]
    existing = set(Product.objects.filter(sku__startswith="BENCH-").values_list("sku", flat=True))
    Product.objects.bulk_create(
        Product(
            sku=f"BENCH-{i}",
            title=f"Benchmark product {i}",
            slug=f"benchmark-product-{i}",
            description="A product used by the benchmarks.",
            category=cats[i % categories],
            price=Decimal("4.99"),
            stock=1000,
        )
        for i in range(count)
        if f"BENCH-{i}" not in existing
    )
    products = list(Product.objects.filter(sku__startswith="BENCH-").order_by("pk")[:count])
    for i, product in enumerate(products):
        product.category = cats[i % categories]
    Product.objects.bulk_update(products, ["category"])
    return [product.pk for product in products]


def precompute_similar(pks: list[int], length: int = 30, seed: int = 7) -> list[str]:
    """A "similar" list of ``length`` random other products for every product; returns the ids."""
    import random

    from recommendations.stores import get_store

    rng = random.Random(seed)
    ids = [str(pk) for pk in pks]
    lists = {}
    for item in ids:
        others = rng.sample([i for i in ids if i != item], length)
        lists[f"item:{item}:similar"] = [
            (other, 1.0 / (rank + 1)) for rank, other in enumerate(others)
        ]
    get_store().put_many(lists)
    return ids


def signed_visitor_cookie(visitor_id: str) -> str:
    """A ``Cookie`` header value carrying a valid signed visitor id."""
    from django.http import HttpResponse

    from recommendations.conf import app_settings
    from recommendations.tracking.identity import _SALT

    response = HttpResponse()
    name = app_settings.VISITOR_COOKIE_NAME
    response.set_signed_cookie(name, visitor_id, salt=_SALT)
    return f"{name}={response.cookies[name].value}"


def worker_pids(master_pid: int) -> list[int]:
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    return [int(pid) for pid in children]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def torch_loaded(pid: int) -> bool:
    """Whether the process has torch's native library mapped (i.e. imported torch)."""
    return "libtorch" in Path(f"/proc/{pid}/maps").read_text()


def reset_stream() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter("recommendations:*"))
    if keys:
        client.delete(*keys)


def pinned(args: list[str], cpus: str | None) -> list[str]:
    """``args`` run under ``taskset -c cpus`` when ``cpus`` is given: on a machine with few cores
    a load generator and the server it measures otherwise take turns on the same core, and the
    scheduler's choices become noise larger than what is measured."""
    if cpus is None:
        return args
    taskset = shutil.which("taskset")
    if taskset is None:
        raise SystemExit("taskset (util-linux) is needed to pin processes to CPUs")
    return [taskset, "-c", cpus, *args]


def cpu_count() -> int:
    """CPUs this process may run on (what pinning can share out)."""
    return len(os.sched_getaffinity(0))


@contextlib.contextmanager
def process(
    args: list[str],
    *,
    extra_env: dict[str, str] | None = None,
    log_name: str,
    cpus: str | None = None,
) -> Iterator[subprocess.Popen]:
    """Run ``args`` in its own session, logging to a temp file; ``cpus`` (``"0"``, ``"0,1"``) pins
    it and every process it starts to those CPUs."""
    log = open(Path(tempfile.gettempdir()) / f"recommendations-bench-{log_name}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        pinned(args, cpus),
        cwd=ROOT,
        env=env(**(extra_env or {})),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        log.close()


@contextlib.contextmanager
def gunicorn(
    workers: int = 2, extra_env: dict[str, str] | None = None, cpus: str | None = None
) -> Iterator[tuple[str, int]]:
    args = [
        PYTHON, "-m", "gunicorn", "shop.wsgi:application",
        "--bind", f"127.0.0.1:{PORT}", "--workers", str(workers), "--worker-class", "sync",
        "--log-level", "warning",
    ]  # fmt: skip
    with process(args, extra_env=extra_env, log_name="gunicorn", cpus=cpus) as master:
        base = f"http://127.0.0.1:{PORT}"
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(base + "/", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("gunicorn did not start") from None
                time.sleep(0.2)
        yield base, master.pid


@contextlib.contextmanager
def consumer(cpus: str | None = None) -> Iterator[subprocess.Popen]:
    with process(
        [PYTHON, "manage.py", "recommendations_ingest", "--name", "bench"],
        log_name="consumer",
        cpus=cpus,
    ) as proc:
        yield proc


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is needed for this benchmark: apt-get install wrk")
    return path


@dataclass
class WrkResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    output: str


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


_GETS_SCRIPT = """
local paths = {%(paths)s}
local cookies = {%(cookies)s}
local headers = {%(headers)s}
local n = 0
request = function()
  n = n + 1
  headers["Cookie"] = cookies[(n %% #cookies) + 1]
  return wrk.format("GET", paths[(n %% #paths) + 1], headers)
end
"""


def _lua_string(value: str) -> str:
    if any(char in value for char in '"\\\r\n'):
        raise ValueError(f"not a plain Lua string: {value!r}")
    return f'"{value}"'


def rotating_gets(
    paths: list[str], cookies: list[str], headers: dict[str, str] | None = None, extra: str = ""
) -> str:
    """A wrk script whose n-th request GETs the n-th path with the n-th visitor's cookie (both
    taken in turn) and ``headers``; ``extra`` is Lua appended to it (a ``done`` function)."""
    return (
        _GETS_SCRIPT
        % {
            "paths": ",".join(_lua_string(path) for path in paths),
            "cookies": ",".join(_lua_string(cookie) for cookie in cookies),
            "headers": ",".join(
                f"[{_lua_string(name)}] = {_lua_string(value)}"
                for name, value in (headers or {}).items()
            ),
        }
        + extra
    )


def run_wrk(
    url: str,
    *,
    seconds: int,
    connections: int,
    script: str,
    threads: int = 1,
    cpus: str | None = None,
) -> WrkResult:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script)
    out = subprocess.run(
        pinned(
            [
                wrk_path(),
                f"-t{threads}",
                f"-c{connections}",
                f"-d{seconds}s",
                "--latency",
                "-s",
                lua.name,
                url,
            ],
            cpus,
        ),
        capture_output=True,
        text=True,
    )
    os.unlink(lua.name)
    if out.returncode:
        raise SystemExit(f"wrk failed: {out.stderr or out.stdout}")
    out = out.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])
    requests = int(re.search(r"(\d+) requests in", out)[1])
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)

    def percentile(p: str) -> float:
        value, unit = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)", out, re.M).groups()
        return float(value) * _UNITS[unit]

    return WrkResult(
        rps, percentile("50"), percentile("99"), requests, int(non_2xx[1]) if non_2xx else 0, out
    )


@contextlib.contextmanager
def sequential_model(pks: list[int], users: int = 2000, steps: int = 12, seed: int = 3):
    """The sequential model (64 dims, 2 blocks, 50 items) fitted on generated browsing walks over
    the products, active as the for-you version while the block runs, removed after it. The
    benchmark process fits it with torch; web workers load the artifact and score it with numpy,
    as in production. Two epochs: its speed, not its quality, is measured."""
    import io

    import numpy as np
    import scipy.sparse as sp
    from django.core.files.base import ContentFile
    from django.utils import timezone

    from recommendations.engine.artifacts import save_artifact
    from recommendations.engine.models import SASRec
    from recommendations.models import ModelVersion

    rng = np.random.default_rng(seed)
    n_items = len(pks)
    following = np.stack([rng.permutation(n_items), rng.permutation(n_items)], axis=1)
    rows, cols, times = [], [], []
    for user in range(users):
        item, seen = int(rng.integers(n_items)), set()
        for step in range(steps):
            if item not in seen:
                seen.add(item)
                rows.append(user)
                cols.append(item)
                times.append(float(step * 60 + user))
            item = int(following[item, rng.integers(2)])
    shape = (users, n_items)
    matrix = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=shape)
    stamps = sp.csr_matrix((np.asarray(times), (rows, cols)), shape=shape)
    model = SASRec(epochs=2, seed=seed, device="cpu").fit(matrix, stamps)
    artifact = model.to_artifact()
    artifact.item_keys = np.asarray([str(pk) for pk in pks])
    buffer = io.BytesIO()
    save_artifact(artifact, buffer)
    ModelVersion.objects.filter(scenario="for_you", status=ModelVersion.Status.ACTIVE).update(
        status=ModelVersion.Status.RETIRED
    )
    version = ModelVersion.objects.create(
        scenario="for_you",
        model="sasrec",
        version=f"sasrec-bench-{timezone.now():%Y%m%d%H%M%S}",
        params=artifact.params,
        status=ModelVersion.Status.ACTIVE,
        promoted_at=timezone.now(),
    )
    version.artifact.save(f"for_you/{version.version}.npz", ContentFile(buffer.getvalue()))
    try:
        yield version
    finally:
        version.artifact.delete(save=False)
        version.delete()


@contextlib.contextmanager
def consumers(count: int, args: tuple[str, ...] = ()) -> Iterator[list[subprocess.Popen]]:
    """``count`` ingest consumers in the one consumer group, named bench-1 … bench-N, each logging
    to ``recommendations-bench-consumer-<i>.log``; ``args`` are passed to every one."""
    with contextlib.ExitStack() as stack:
        procs = [
            stack.enter_context(
                process(
                    [PYTHON, "manage.py", "recommendations_ingest", "--name", f"bench-{i}", *args],
                    log_name=f"consumer-{i}",
                )
            )
            for i in range(1, count + 1)
        ]
        yield procs


def consumer_log(index: int) -> Path:
    return Path(tempfile.gettempdir()) / f"recommendations-bench-consumer-{index}.log"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a running process has used so far (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def precompute_related(pks: list[int], relation: str, length: int = 30, seed: int = 11) -> None:
    """A ``relation`` list (``also-viewed``, ``bought-together``) of ``length`` random other
    products for every product, as :func:`precompute_similar` writes ``similar``."""
    import random

    from recommendations.stores import get_store

    rng = random.Random(seed)
    ids = [str(pk) for pk in pks]
    get_store().put_many(
        {
            f"item:{item}:{relation}": [
                (other, 1.0 / (rank + 1))
                for rank, other in enumerate(rng.sample([i for i in ids if i != item], length))
            ]
            for item in ids
        }
    )


@dataclass
class PairedEstimate:
    """What two arms measured in paired rounds differ by, with its 95 % confidence interval
    (Student's t over the rounds). Pairing round ``i`` of one arm with round ``i`` of the other
    lets drift in the machine between rounds cancel out of each pair instead of widening the
    interval."""

    estimate: float
    low: float
    high: float
    rounds: int

    def format(self, spec: str = ".3f", unit: str = "") -> str:
        return (
            f"{self.estimate:{spec}}{unit} (95 % CI {self.low:{spec}} to {self.high:{spec}}{unit}, "
            f"{self.rounds} rounds)"
        )


def _t_interval(values: list[float]) -> tuple[float, float, float]:
    from scipy import stats

    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, math.nan, math.nan
    half = stats.t.ppf(0.975, len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))
    return mean, mean - half, mean + half


def paired_ratio(numerators: list[float], denominators: list[float]) -> PairedEstimate:
    """The geometric mean of the per-round ratios; the interval is taken on their logarithms,
    so a ratio and its inverse get the same interval, inverted."""
    logs = [math.log(n / d) for n, d in zip(numerators, denominators, strict=True)]
    mean, low, high = _t_interval(logs)
    return PairedEstimate(math.exp(mean), math.exp(low), math.exp(high), len(logs))


def paired_difference(minuends: list[float], subtrahends: list[float]) -> PairedEstimate:
    """The mean of the per-round differences."""
    differences = [a - b for a, b in zip(minuends, subtrahends, strict=True)]
    mean, low, high = _t_interval(differences)
    return PairedEstimate(mean, low, high, len(differences))
