"""What one recommendation request reads from Redis, read in one round trip.

A list needs the catalogue version (for the exact in-process catalogue copy), the visitor's
recent items, the precomputed lists the slot is about (the user's own list, an item's neighbours)
and, for for-you, the neighbour lists of the newest recent items, which are only known once the
recent items are. Asked one by one that is three or four round trips, and with redis-py each costs
more client CPU than the rest of the request; so one server-side script reads them all, and
also records the visitor's first exposure to a running experiment (``SET NX EX``).

The script runs behind the breaker (:func:`recommendations.redis_client.available`): while it is
open, or when the script fails (which opens it), :func:`read` answers ``None`` and the pipeline
reads each source on its own, as it does in embedded mode, so every fallback stays where it was.

The script derives neighbour keys from the recent items it reads, so it is for a standalone Redis
(or one where all the app's keys share a slot), like the rest of the app's Redis use.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import redis
from redis.commands.core import Script

from recommendations import redis_client
from recommendations.catalog import _version_key as catalog_version_key
from recommendations.conf import app_settings
from recommendations.stores import RankedList, decode_list, labels_key, list_key
from recommendations.tracking.live import recent_key

logger = logging.getLogger("recommendations.serving")

#: KEYS[1] the catalogue version, KEYS[2] the lists' labels (hash), KEYS[3] the recent items
#: (sorted set) or "", KEYS[4] the experiment exposure marker or "", KEYS[5] a throttle's
#: counter or "", KEYS[6..] lists by key. ARGV[1] the list key prefix, ARGV[2] recent items to
#: read, ARGV[3] of which the newest how many to read neighbour lists of, ARGV[4] their relation,
#: ARGV[5] the exposure marker's seconds, ARGV[6] the counter's seconds, ARGV[7] its limit,
#: ARGV[8..] the names (labels hash fields) of KEYS[6..]. Over the limit, nothing else is done.
_SCRIPT = """
local count = false
if KEYS[5] ~= '' then
  redis.call('SET', KEYS[5], 0, 'EX', ARGV[6], 'NX')
  count = redis.call('INCR', KEYS[5])
  if count > tonumber(ARGV[7]) then
    return {false, {}, 0, {}, {}, count}
  end
end
local version = redis.call('GET', KEYS[1])
if not version then
  redis.call('SET', KEYS[1], 1, 'NX')
  version = redis.call('GET', KEYS[1])
end
local recent = {}
if KEYS[3] ~= '' then
  recent = redis.call('ZREVRANGE', KEYS[3], 0, tonumber(ARGV[2]) - 1)
end
local exposed = 0
if KEYS[4] ~= '' and redis.call('SET', KEYS[4], '1', 'NX', 'EX', ARGV[5]) then
  exposed = 1
end
local names, keys = {}, {}
for i = 8, #ARGV do
  names[#names + 1] = ARGV[i]
  keys[#keys + 1] = KEYS[i - 2]
end
for i = 1, math.min(tonumber(ARGV[3]), #recent) do
  local name = 'item:' .. recent[i] .. ':' .. ARGV[4]
  names[#names + 1] = name
  keys[#keys + 1] = ARGV[1] .. name
end
local values, labels = {}, {}
if #keys > 0 then
  values = redis.call('MGET', unpack(keys))
  labels = redis.call('HMGET', KEYS[2], unpack(names))
end
return {version, recent, exposed, values, labels, count}
"""

_lock = threading.Lock()
#: Registered once; each call names the client it runs on (the client changes with settings).
_script: Script | None = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One request's reads. ``recent`` is ``None`` when the request did not ask for it."""

    catalog_version: bytes | None
    recent: list[str] | None
    #: Lists found, by list name (``user:7``, ``item:42:similar``), with their label.
    lists: dict[str, tuple[RankedList, str]]
    #: Whether the exposure marker was new; ``None`` when none was asked for.
    first_exposure: bool | None
    #: The throttle counter after this request; ``None`` when none was asked for. Over its
    #: limit, the script read nothing else (every other field is empty).
    count: int | None = None

    def neighbours(
        self, item_ids: Sequence[str], relation: str
    ) -> dict[str, tuple[RankedList, str]]:
        """The ``relation`` lists of ``item_ids`` that exist, by item (as ``sources.neighbours``)."""
        found = {}
        for item_id in item_ids:
            labelled = self.lists.get(f"item:{item_id}:{relation}")
            if labelled is not None:
                found[item_id] = labelled
        return found


def read(
    *,
    lists: Sequence[str] = (),
    recent_of: tuple[int | None, str | None] | None = None,
    recent_limit: int = 10,
    neighbours_of_recent: int = 0,
    relation: str = "similar",
    exposure_key: str | None = None,
    exposure_seconds: int = 0,
    counter: tuple[str, int, int] | None = None,
) -> Snapshot | None:
    """Read everything in one round trip, or ``None`` (embedded mode, breaker open, failure).

    ``recent_of`` is ``(user_id, visitor_id)`` when the recent items are wanted: the user's when
    signed in, else the visitor's, else none (as ``sources.recent_items``). ``counter`` is a
    throttle's ``(key, seconds, limit)``: counted first (``SET NX EX``, ``INCR``), and over the
    limit nothing else is read.
    """
    if not (app_settings.services_mode and redis_client.available()):
        return None
    recent_name = ""
    if recent_of is not None:
        user_id, visitor_id = recent_of
        if user_id is not None:
            recent_name = recent_key(user_id=user_id)
        elif visitor_id:
            recent_name = recent_key(visitor_id=visitor_id)
    names = list(lists)
    counter_key, counter_seconds, counter_limit = counter or ("", 0, 0)
    keys = [catalog_version_key(), labels_key(), recent_name, exposure_key or "", counter_key]
    keys += [list_key(name) for name in names]
    args: list[str | int] = [list_key(""), recent_limit, neighbours_of_recent, relation]
    args += [exposure_seconds, counter_seconds, counter_limit, *names]
    try:
        client = redis_client.get_redis()
        version, recent, exposed, values, labels, count = _registered(client)(
            keys=keys, args=args, client=client
        )
    except redis.RedisError as exc:
        redis_client.mark_down()
        logger.warning("Redis unavailable (%s); reading each source on its own", exc)
        return None
    recent_ids = [item.decode() for item in recent]
    if recent_name:
        names += [f"item:{item}:{relation}" for item in recent_ids[:neighbours_of_recent]]
    found = {
        name: (decode_list(value), label.decode() if label is not None else "")
        for name, value, label in zip(names, values, labels, strict=True)
        if value is not None
    }
    return Snapshot(
        catalog_version=version,
        recent=recent_ids if recent_of is not None else None,
        lists=found,
        first_exposure=bool(exposed) if exposure_key else None,
        count=int(count) if counter is not None else None,
    )


def _registered(client: redis.Redis) -> Script:
    """The script object (``EVALSHA``, loaded into Redis on first use by each server)."""
    global _script
    if _script is None:
        with _lock:
            if _script is None:
                _script = client.register_script(_SCRIPT)
    return _script
