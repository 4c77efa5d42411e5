import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from recommendations.engine.indexmap import IndexMap


def test_add_appends_in_first_seen_order_and_reuses_known_keys():
    mapping = IndexMap(["b", "a"])
    assert mapping.add(["c", "a", "d", "c"]).tolist() == [2, 1, 3, 2]
    assert mapping.keys == ["b", "a", "c", "d"]


def test_lookup_reports_missing_without_adding():
    mapping = IndexMap(["x"])
    assert mapping.lookup(["x", "nope"]).tolist() == [0, -1]
    assert len(mapping) == 1
    assert "x" in mapping and "nope" not in mapping


def test_keys_are_strings_and_round_trip_through_arrays():
    mapping = IndexMap([17850, "A-1", 3.5])
    restored = IndexMap.from_array(mapping.to_array())
    assert restored == mapping
    assert restored.index_of("17850") == 0
    assert restored.keys_at([2, 1]) == ["3.5", "A-1"]


def test_from_array_rejects_duplicates():
    with pytest.raises(ValueError, match="distinct"):
        IndexMap.from_array(["a", "a"])


def test_empty_batches():
    mapping = IndexMap()
    assert mapping.add([]).tolist() == []
    assert mapping.lookup(np.array([], dtype=str)).tolist() == []


@given(
    st.lists(
        st.lists(st.text(st.characters(exclude_characters="\x00"), max_size=4), max_size=20),
        max_size=8,
    )
)
def test_never_renumbers(batches):
    mapping = IndexMap()
    seen: dict[str, int] = {}
    for batch in batches:
        codes = mapping.add(batch)
        for key, code in zip(batch, codes, strict=True):
            assert seen.setdefault(key, int(code)) == code
        assert sorted(seen.values()) == list(range(len(mapping)))
