"""Readers for interaction files: a generic CSV and the UCI Online Retail reference protocol.

Online Retail: Chen, D., Sain, S. L., & Guo, K. (2012). Online Retail. UCI Machine Learning
Repository (dataset 352), CC BY 4.0.
"""

from __future__ import annotations

import csv
import gzip
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import numpy as np
import scipy.sparse as sp

from .data import EventLog, matrix_from_pairs
from .indexmap import IndexMap

REQUIRED_COLUMNS = ("user", "item", "timestamp")

#: Published size of the reference-protocol interactions (customers, items, pairs).
ONLINE_RETAIL_REFERENCE_SHAPE = (4_335, 3_659, 266_226)

_PRODUCT_CODE = re.compile(r"^\d{5}")


def read_interactions_csv(source: str | Path | IO[str]) -> EventLog:
    """Read ``user,item,timestamp[,weight]`` rows (extra columns ignored).

    Timestamps are ISO 8601 (naive means UTC) or Unix seconds. Raises ``ValueError`` naming the
    missing column or the line (1-based, header is line 1) of the first bad value.
    """
    with _open_text(source) as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise ValueError("empty CSV: expected a header with columns user,item,timestamp")
        columns = [name.strip().lower() for name in header]
        missing = [name for name in REQUIRED_COLUMNS if name not in columns]
        if missing:
            raise ValueError(
                f"missing column(s) {', '.join(missing)}; the header has: {', '.join(header)}"
            )
        position = {
            name: columns.index(name) for name in (*REQUIRED_COLUMNS, "weight") if name in columns
        }
        users: list[str] = []
        items: list[str] = []
        times: list[float] = []
        weights: list[float] = []
        parse_time = _TimestampParser()
        for row in reader:
            line = reader.line_num
            if not row:
                continue
            if len(row) < len(columns):
                raise ValueError(f"line {line}: expected {len(columns)} fields, got {len(row)}")
            user, item = row[position["user"]].strip(), row[position["item"]].strip()
            if not user or not item:
                raise ValueError(f"line {line}: empty {'user' if not user else 'item'}")
            stamp = row[position["timestamp"]]
            try:
                times.append(parse_time(stamp))
            except ValueError:
                raise ValueError(f"bad timestamp {stamp!r} on line {line}") from None
            if "weight" in position:
                text = row[position["weight"]]
                weight = _parse_weight(text)
                if weight is None:
                    raise ValueError(f"bad weight {text!r} on line {line}")
                weights.append(weight)
            users.append(user)
            items.append(item)
    return EventLog(
        users=np.asarray(users, dtype=np.str_),
        items=np.asarray(items, dtype=np.str_),
        timestamps=np.asarray(times, dtype=np.float64),
        weights=np.asarray(weights, dtype=np.float32)
        if weights
        else np.ones(len(users), np.float32),
    )


@dataclass
class OnlineRetail:
    """The reference-protocol view of the Online Retail file.

    ``pairs``: every purchased (customer, item) pair once, stamped with its first time.
    ``baskets``: invoice x item (binary) over the same items, with ``basket_times`` and the
    customer of each invoice in ``basket_customers``.
    ``titles`` / ``prices``: one per item of ``item_map`` (the first description seen, the median
    unit price), for content features.
    """

    pairs: EventLog
    baskets: sp.csr_matrix
    basket_times: np.ndarray
    basket_customers: np.ndarray
    item_map: IndexMap
    titles: list[str]
    prices: np.ndarray


def read_online_retail(path: str | Path) -> OnlineRetail:
    """Apply the reference filters: a CustomerID, Quantity > 0, InvoiceNo not starting with "C",
    StockCode starting with five digits."""
    invoices: list[str] = []
    customers: list[str] = []
    codes: list[str] = []
    stamps: list[float] = []
    unit_prices: list[float] = []
    titles: dict[str, str] = {}
    parse_time = _TimestampParser()
    with _open_text(path) as handle:
        for row in csv.DictReader(handle):
            customer = row["CustomerID"].strip()
            code = row["StockCode"].strip()
            invoice = row["InvoiceNo"].strip()
            if not customer or invoice.startswith("C") or not _PRODUCT_CODE.match(code):
                continue
            if float(row["Quantity"]) <= 0:
                continue
            invoices.append(invoice)
            customers.append(customer.removesuffix(".0"))
            codes.append(code)
            stamps.append(parse_time(row["InvoiceDate"]))
            unit_prices.append(float(row["UnitPrice"]))
            description = row["Description"].strip()
            if description and code not in titles:
                titles[code] = description

    customer_array = np.asarray(customers, dtype=np.str_)
    code_array = np.asarray(codes, dtype=np.str_)
    time_array = np.asarray(stamps, dtype=np.float64)
    item_map = IndexMap(np.unique(code_array))
    item_index = item_map.lookup(code_array)

    _, customer_index = np.unique(customer_array, return_inverse=True)
    pair_code = customer_index.ravel().astype(np.int64) * len(item_map) + item_index
    order = np.lexsort((time_array, pair_code))
    first = order[np.r_[True, pair_code[order][1:] != pair_code[order][:-1]]]
    pairs = EventLog(
        users=customer_array[first],
        items=code_array[first],
        timestamps=time_array[first],
        weights=np.ones(len(first), np.float32),
    )

    invoice_keys, invoice_index = np.unique(np.asarray(invoices), return_inverse=True)
    invoice_index = invoice_index.ravel()
    baskets = matrix_from_pairs(invoice_index, item_index, (len(invoice_keys), len(item_map)))
    baskets.data[:] = 1.0
    basket_times = np.full(len(invoice_keys), np.inf)
    np.minimum.at(basket_times, invoice_index, time_array)
    basket_customers = np.empty(len(invoice_keys), dtype=customer_array.dtype)
    basket_customers[invoice_index] = customer_array

    prices = _median_by_group(np.asarray(unit_prices), item_index, len(item_map))
    return OnlineRetail(
        pairs=pairs,
        baskets=baskets,
        basket_times=basket_times,
        basket_customers=basket_customers,
        item_map=item_map,
        titles=[titles.get(code, "") for code in item_map.keys],
        prices=prices,
    )


def _median_by_group(values: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    order = np.lexsort((values, groups))
    counts = np.bincount(groups, minlength=n_groups)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    sorted_values = values[order]
    low = sorted_values[starts + (counts - 1) // 2]
    high = sorted_values[starts + counts // 2]
    return (low + high) / 2.0


def _parse_weight(text: str) -> float | None:
    """A finite number, 1 for an empty cell, ``None`` for anything else."""
    if not text.strip():
        return 1.0
    try:
        value = float(text)
    except ValueError:
        return None
    return value if np.isfinite(value) else None


class _TimestampParser:
    """ISO 8601 or Unix seconds, memoised: logs repeat the same stamps many times."""

    def __init__(self) -> None:
        self._cache: dict[str, float] = {}

    def __call__(self, text: str) -> float:
        value = self._cache.get(text)
        if value is None:
            value = self._cache[text] = parse_timestamp(text)
        return value


def parse_timestamp(text: str) -> float:
    """Unix seconds from ISO 8601 (naive means UTC) or a number of seconds."""
    stripped = text.strip()
    if not stripped:
        raise ValueError("empty timestamp")
    try:
        seconds = float(stripped)
    except ValueError:
        moment = datetime.fromisoformat(stripped.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    if not np.isfinite(seconds):
        raise ValueError("timestamp is not finite")
    return seconds


@contextmanager
def _open_text(source: str | Path | IO[str]) -> Iterator[IO[str]]:
    """Open a path (``.gz`` transparently) or pass an open text handle through."""
    if not isinstance(source, str | Path):
        yield source
        return
    path = Path(source)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        yield handle
