"""Shared pieces of the engine benchmarks: the machine line, the data, the tables."""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch

from recommendations.engine.data import Interactions, MatrixConfig, build_interactions
from recommendations.engine.datasets import (
    ONLINE_RETAIL_REFERENCE_SHAPE,
    OnlineRetail,
    read_online_retail,
)
from recommendations.engine.splits import Split, leave_last_out

REPO = Path(__file__).resolve().parent.parent
RETAIL_PATH = REPO.parent / "shared" / "data" / "online_retail" / "online_retail.csv.gz"
CITATION = (
    "Chen, D., Sain, S. L., & Guo, K. (2012). Online Retail. UCI Machine Learning Repository "
    "(dataset 352), CC BY 4.0."
)


@dataclass
class Reference:
    """The Online Retail reference protocol: pairs, their leave-last-out split, the raw view."""

    retail: OnlineRetail
    interactions: Interactions
    split: Split
    load_s: float


def load_reference(path: Path = RETAIL_PATH, seed: int = 0) -> Reference:
    """Read the file and check the published counts (customers, items, pairs)."""
    started = time.perf_counter()
    retail = read_online_retail(path)
    interactions = build_interactions(
        retail.pairs, MatrixConfig(binary=True, pair_time="first"), item_map=retail.item_map
    )
    shape = (*interactions.shape, interactions.matrix.nnz)
    if shape != ONLINE_RETAIL_REFERENCE_SHAPE:
        raise SystemExit(
            f"reference counts differ: got {shape}, README says {ONLINE_RETAIL_REFERENCE_SHAPE}"
        )
    split = leave_last_out(interactions.matrix, interactions.times, seed=seed)
    return Reference(retail, interactions, split, time.perf_counter() - started)


def synthetic_matrix(
    n_users: int, n_items: int, n_interactions: int, seed: int = 0
) -> sp.csr_matrix:
    """Binary users x items with power-law item popularity and user activity (duplicates merged,
    so slightly fewer cells than asked for)."""
    rng = np.random.default_rng(seed)
    item_weights = 1.0 / np.arange(1, n_items + 1) ** 0.8
    user_weights = 1.0 / np.arange(1, n_users + 1) ** 0.5
    items = rng.choice(n_items, size=n_interactions, p=item_weights / item_weights.sum())
    users = rng.choice(n_users, size=n_interactions, p=user_weights / user_weights.sum())
    matrix = sp.csr_matrix(
        (np.ones(n_interactions, np.float32), (users, items)), shape=(n_users, n_items)
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA device"
    return (
        f"{cpu}, {os.cpu_count()} cores; {gpu}; Python {platform.python_version()}, "
        f"torch {torch.__version__}, numpy {np.__version__}"
    )


def print_header(title: str, data: str) -> None:
    print(title)
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"data:    {data}")
    print(f"machine: {machine()}")
    print()


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[_format(value) for value in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print(
            "  ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    print()


def _format(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 100 else f"{value:.1f}"
    return str(value)
