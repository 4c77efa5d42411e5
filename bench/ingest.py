"""Ingestion throughput: beacon endpoint → Redis stream → ingest consumer → rows in PostgreSQL.

Command:  .venv/bin/python bench/ingest.py [--seconds 60] [--batch 100]
Data:     generated click/view/impression events over 200 products in a benchmark database
          (recommendations_bench), each with a unique event_id.
Setup:    services mode; gunicorn (2 sync workers) and one ingest consumer running, wrk (1 thread,
          8 connections) posting batches on loopback, PostgreSQL and Redis on the same machine.
          Beacon throttling is switched off (BEACON_THROTTLE_RATE="") for the load generator.

The figure is events stored per second from the first request until the consumer has stored the
last accepted event; "sent" counts events in requests answered 202, "stored" the new rows.
"""

from __future__ import annotations

import argparse
import json
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
    args = parser.parse_args()

    svc.prepare_database()
    svc.django_setup()
    pks = svc.ensure_products()
    svc.reset_stream()
    from recommendations.models import Event

    script = SCRIPT % {"items": ",".join(f'"{pk}"' for pk in pks), "batch": args.batch}

    with svc.consumer(), svc.gunicorn(extra_env={"BEACON_THROTTLE_RATE": ""}) as (base, _):
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
        stored = Event.objects.filter(context__slot="bench").count()

    distinct = Event.objects.filter(context__slot="bench").values("event_id").distinct().count()
    elapsed = drained - started
    figures = {
        "events_per_s": round(stored / elapsed, 1),
        "sent": accepted,
        "stored": stored,
        "lost": max(accepted - stored, 0),
        "duplicated": stored - distinct,
    }
    print()
    print("Ingestion: beacon -> Redis stream -> consumer -> PostgreSQL")
    print(
        f"machine: {svc.machine()}; gunicorn 2 sync workers + 1 consumer; wrk -t1 -c{args.connections}"
    )
    print(f"{'':<34}{'value':>14}")
    rows = [
        ("load duration (s)", f"{sent_done - started:.1f}"),
        ("until last event stored (s)", f"{elapsed:.1f}"),
        ("requests/s (202)", f"{result.requests_per_s:.1f}"),
        ("request p50 / p99 (ms)", f"{result.p50_ms:.1f} / {result.p99_ms:.1f}"),
        ("events per request", f"{args.batch}"),
        ("events accepted (sent)", f"{accepted}"),
        ("events stored", f"{stored}"),
        ("lost / duplicated", f"{figures['lost']} / {figures['duplicated']}"),
        ("stored events/s (end to end)", f"{figures['events_per_s']:.0f}"),
    ]
    for label, value in rows:
        print(f"{label:<34}{value:>14}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
