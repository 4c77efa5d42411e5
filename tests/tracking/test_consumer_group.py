"""Two ingest consumer processes in one group share the stream: nothing lost, nothing twice."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest
import redis

from recommendations import redis_client
from recommendations.models import Event
from recommendations.tracking.ingest import group_name
from recommendations.tracking.records import EventRecord
from recommendations.tracking.sinks import deliver, stream_key
from tests.processes import start_manage, stop, wait_for

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _members() -> set[str]:
    client = redis_client.get_redis()
    try:
        infos = client.xinfo_consumers(stream_key(), group_name())
    except redis.ResponseError:  # no group until the first consumer creates it
        return set()
    return {
        (info["name"].decode() if isinstance(info["name"], bytes) else info["name"])
        for info in infos
    }


def _stored_by(log: Path) -> int:
    """The ``stored=`` count of the summary a consumer prints when it stops."""
    found = re.findall(r"stored=(\d+)", log.read_text())
    assert found, log.read_text()
    return int(found[-1])


def _send(total: int, per_message: int) -> None:
    for start in range(0, total, per_message):
        deliver(
            [
                EventRecord(kind=1, item_id=str(i % 50), visitor_id=f"g{i % 500}")
                for i in range(start, start + per_message)
            ]
        )


def _pending_of(name: str) -> int:
    infos = redis_client.get_redis().xinfo_consumers(stream_key(), group_name())
    return next(
        (int(info["pending"]) for info in infos if info["name"] in (name, name.encode())), 0
    )


def _freeze_holding_messages(pid: int) -> None:
    """Stop the process (SIGSTOP) at a moment it has read messages it has not acknowledged."""
    for _ in range(200):
        os.kill(pid, signal.SIGSTOP)
        if _pending_of("victim"):
            return
        os.kill(pid, signal.SIGCONT)
        time.sleep(0.01)
    raise AssertionError("the consumer never held unacknowledged messages")


def _backlog() -> int:
    client = redis_client.get_redis()
    return client.xlen(stream_key()) + client.xpending(stream_key(), group_name())["pending"]


def test_two_consumers_share_the_stream_and_store_every_event_once(tmp_path):
    total = 20_000
    logs = {name: tmp_path / f"{name}.log" for name in ("first", "second")}
    consumers = {
        name: start_manage("recommendations_ingest", "--name", name, log=log)
        for name, log in logs.items()
    }
    try:
        assert wait_for(lambda: _members() >= set(logs), timeout=60), [
            log.read_text() for log in logs.values() if log.exists()
        ]
        _send(total, per_message=20)
        assert wait_for(lambda: Event.objects.count() >= total and not _backlog(), timeout=120)
    finally:
        for process in consumers.values():
            stop(process)
    assert Event.objects.count() == total
    assert Event.objects.values("event_id").distinct().count() == total
    shares = {name: _stored_by(log) for name, log in logs.items()}
    assert sum(shares.values()) == total, shares
    assert all(shares.values()), shares  # both took part
    assert _backlog() == 0


def test_when_one_of_two_consumers_dies_the_other_takes_over_its_messages(tmp_path):
    total = 20_000
    logs = {name: tmp_path / f"{name}.log" for name in ("victim", "survivor")}
    victim = start_manage(
        "recommendations_ingest", "--name", "victim", "--batch-size", "10", log=logs["victim"]
    )
    survivor = start_manage(
        "recommendations_ingest",
        *("--name", "survivor", "--batch-size", "10", "--claim-idle-ms", "500"),
        log=logs["survivor"],
    )
    try:
        assert wait_for(lambda: _members() >= set(logs), timeout=60)
        _send(total, per_message=20)
        assert wait_for(lambda: Event.objects.count() >= total // 10, timeout=60)
        _freeze_holding_messages(victim.pid)
        stop(victim, signal.SIGKILL)  # its last batch stays pending, unacknowledged
        assert Event.objects.count() < total, "everything was stored before the kill"
        assert wait_for(lambda: Event.objects.count() >= total and not _backlog(), timeout=120), (
            logs["survivor"].read_text()
        )
    finally:
        stop(victim)
        stop(survivor)
    assert Event.objects.count() == total
    assert Event.objects.values("event_id").distinct().count() == total
    assert _backlog() == 0
    assert "Claimed" in logs["survivor"].read_text()
