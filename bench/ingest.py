"""Ingestion throughput: beacon endpoint → Redis stream → ingest consumer → rows in PostgreSQL.

Command:  .venv/bin/python bench/ingest.py [--seconds 60] [--batch 100] [--consumers 1]
          [--linger-min-rate R]
Data:     generated click/view/impression events over 200 products in a benchmark database
          (recommendations_bench), each with a unique event_id.
Setup:    services mode; gunicorn (2 sync workers) and N ingest consumers in the one consumer
          group, wrk (1 thread, 8 connections) posting batches on loopback, PostgreSQL and Redis
          on the same machine. Beacon throttling is switched off (BEACON_THROTTLE_RATE="") for the
          load generator.

The figure is events stored per second from the first request until the consumers have stored
the last accepted event; "sent" counts events in requests answered 202, "stored" the new rows.
Consumer CPU is user + system time of the consumer processes over the same span (from /proc);
"per consumer core" is events stored per CPU-second of the consumers. ``--linger-min-rate 0``
runs the consumers with the fixed linger (every partial batch waits INGEST_LINGER_MS), the
behaviour before the rate-dependent one, as a baseline.
"""

from __future__ import annotations

import argparse
import json
import re
import time

import _services as svc

SCRIPT = """
local items = {%(items)s}
local kinds = {"view", "click", "impression"}
local batch = %(batch)d
local counter = 0
thread_id = 0
local threads = {}
accepted = 0

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(thread_id * 7919)
end

request = function()
  local events = {}
  for i = 1, batch do
    counter = counter + 1
    local id = string.format("%%08x-%%04x-4000-8000-%%012x", thread_id, math.floor(counter / 4294967296) %% 65536, counter)
    events[i] = string.format('{"event_id":"%%s","kind":"%%s","item_id":"%%s","context":{"slot":"bench"}}',
      id, kinds[(counter %% 3) + 1], items[math.random(#items)])
  end
  local body = '{"events":[' .. table.concat(events, ",") .. ']}'
  return wrk.format("POST", "/recommendations/api/events/", {["Content-Type"] = "application/json"}, body)
end

response = function(status, headers, body)
  if status == 202 then accepted = accepted + 1 end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("accepted") end
  io.write(string.format("ACCEPTED_REQUESTS %%d\\n", total))
end
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--batch", type=int, default=100, help="events per request")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--consumers", type=int, default=1, help="ingest consumer processes")
    parser.add_argument(
        "--linger-min-rate",
        type=float,
        default=None,
        help="passed to the consumers (default: the setting; 0: always linger)",
    )
    args = parser.parse_args()
    if args.consumers < 1:
        parser.error("--consumers must be at least 1")

    svc.prepare_database()
    svc.django_setup()
    pks = svc.ensure_products()
    svc.reset_stream()
    from recommendations.models import Event

    script = SCRIPT % {"items": ",".join(f'"{pk}"' for pk in pks), "batch": args.batch}
    consumer_args: tuple[str, ...] = ()
    if args.linger_min_rate is not None:
        consumer_args = ("--linger-min-rate", str(args.linger_min_rate))

    with (
        svc.consumers(args.consumers, consumer_args) as procs,
        svc.gunicorn(extra_env={"BEACON_THROTTLE_RATE": ""}) as (base, _),
    ):
        cpu_before = [svc.cpu_seconds(proc.pid) for proc in procs]
        started = time.monotonic()
        result = svc.run_wrk(
            base, seconds=args.seconds, connections=args.connections, script=script
        )
        sent_done = time.monotonic()
        accepted = int(result.output.split("ACCEPTED_REQUESTS")[1].split()[0]) * args.batch
        import redis

        from recommendations.tracking.ingest import group_name
        from recommendations.tracking.sinks import stream_key

        client = redis.Redis.from_url(svc.REDIS_URL)

        def backlog() -> int:
            pending = client.xpending(stream_key(), group_name())["pending"]
            return client.xlen(stream_key()) + pending

        deadline = time.monotonic() + 150
        while backlog() and time.monotonic() < deadline:
            time.sleep(0.1)
        drained = time.monotonic()
        cpu = [
            svc.cpu_seconds(proc.pid) - before
            for proc, before in zip(procs, cpu_before, strict=True)
        ]
        stored = Event.objects.filter(context__slot="bench").count()

    # Counted again once the consumers have stopped: requests in flight when wrk stopped may be
    # stored after the backlog first read empty.
    final = Event.objects.filter(context__slot="bench").count()
    distinct = Event.objects.filter(context__slot="bench").values("event_id").distinct().count()
    from django.db import connection

    with connection.cursor() as cursor:  # the table is emptied before each run: these rows only
        cursor.execute(
            "SELECT pg_total_relation_size(%s), pg_relation_size(%s)",
            [Event._meta.db_table, Event._meta.db_table],
        )
        total_bytes, heap_bytes = cursor.fetchone()
    shares, batches = [], 0
    for index in range(1, args.consumers + 1):
        summary = svc.consumer_log(index).read_text()
        shares.append(int(re.findall(r"stored=(\d+)", summary)[-1]))
        batches += int(re.findall(r"batches=(\d+)", summary)[-1])
    elapsed = drained - started
    consumer_cpu = sum(cpu)
    figures = {
        "events_per_s": round(stored / elapsed, 1),
        "sent": accepted,
        "stored": stored,
        "lost": max(accepted - final, 0),
        "duplicated": final - distinct,
        "consumers": args.consumers,
        "consumer_cpu_cores": round(consumer_cpu / elapsed, 3),
        "events_per_consumer_cpu_s": round(stored / consumer_cpu, 1) if consumer_cpu else None,
        "events_per_batch": round(stored / batches, 1) if batches else None,
        "stored_per_consumer": shares,
        "linger_min_rate": args.linger_min_rate,
        "table_bytes_per_row": round(total_bytes / stored, 1) if stored else None,
        "heap_bytes_per_row": round(heap_bytes / stored, 1) if stored else None,
    }
    print()
    print("Ingestion: beacon -> Redis stream -> consumer(s) -> PostgreSQL")
    print(
        f"machine: {svc.machine()}; gunicorn 2 sync workers + {args.consumers} consumer(s)"
        f" in one group; wrk -t1 -c{args.connections}"
    )
    print(f"{'':<44}{'value':>20}")
    rows = [
        ("load duration (s)", f"{sent_done - started:.1f}"),
        ("until last event stored (s)", f"{elapsed:.1f}"),
        ("requests/s (202)", f"{result.requests_per_s:.1f}"),
        ("request p50 / p99 (ms)", f"{result.p50_ms:.1f} / {result.p99_ms:.1f}"),
        ("events per request", f"{args.batch}"),
        ("events accepted (sent)", f"{accepted}"),
        ("events stored", f"{stored}"),
        ("stored per consumer", " / ".join(str(n) for n in shares)),
        ("lost / duplicated", f"{figures['lost']} / {figures['duplicated']}"),
        ("stored events/s (end to end)", f"{figures['events_per_s']:.0f}"),
        ("consumer CPU (cores, all consumers)", f"{figures['consumer_cpu_cores']:.2f}"),
        ("events per consumer CPU-second", f"{figures['events_per_consumer_cpu_s']}"),
        ("events per stored batch", f"{figures['events_per_batch']}"),
        ("event table bytes per row (with indexes)", f"{figures['table_bytes_per_row']}"),
        ("event table bytes per row (heap only)", f"{figures['heap_bytes_per_row']}"),
    ]
    for label, value in rows:
        print(f"{label:<44}{value:>20}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
