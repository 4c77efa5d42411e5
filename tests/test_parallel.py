import pytest

from tests.parallel import worker_redis_url


def test_each_parallel_worker_gets_its_own_redis_database():
    urls = {worker_redis_url("redis://127.0.0.1:6379/15", f"gw{n}") for n in range(4)}
    assert urls == {f"redis://127.0.0.1:6379/{db}" for db in (15, 14, 13, 12)}


def test_a_db_query_parameter_is_the_database_as_redis_py_reads_it():
    assert worker_redis_url("redis://h:6379/15?db=9", "gw1") == "redis://h:6379/15?db=8"
    assert worker_redis_url("unix:///run/redis.sock?db=15", "gw1") == "unix:///run/redis.sock?db=14"


def test_too_many_workers_for_the_databases_below_the_configured_one_is_refused():
    with pytest.raises(pytest.UsageError, match="gw2"):
        worker_redis_url("redis://127.0.0.1:6379/1", "gw2")
