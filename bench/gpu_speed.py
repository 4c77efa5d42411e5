"""ALS, EASE and sequential-model fit time on the GPU against the CPU, on synthetic data.

Command:  .venv/bin/python bench/gpu_speed.py [--interactions 20000000] [--threads N]
Data:     synthetic binary users x items matrix with power-law item popularity and user activity
          (1M users x 100k items for ALS; EASE on the 20k most popular items, its CPU limit).
          The sequential model (SASRec, 64 dims, 2 blocks, 50 items) is timed per training epoch
          on 20k users x 5k items, 1M cells with random times (bf16 autocast on CUDA, float32 on
          the CPU; the second epoch's time, the first warms up).
          Without CUDA everything is scaled down 20x and only the CPU is timed, and the output
          says so.

Same code, same hyper-parameters on both devices (``device="cuda"`` vs ``device="cpu"``); the
CUDA arm is warmed up on a small matrix first so that context and library start-up are not
counted. EASE builds its Gram matrix with scipy on the CPU on both arms; only the inverse runs on
the device.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import scipy.sparse as sp
import torch
from _common import print_header, print_table, synthetic_matrix

from recommendations.engine.models import ALS, EASE, SASRec

FULL_INTERACTIONS, USERS_PER_INTERACTION, ITEMS, EASE_ITEMS = 20_000_000, 1 / 20, 100_000, 20_000
SCALE_WITHOUT_CUDA = 20
SEQ_USERS, SEQ_ITEMS, SEQ_CELLS = 20_000, 5_000, 1_000_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interactions", type=int, default=FULL_INTERACTIONS)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()

    cuda = torch.cuda.is_available()
    scale = 1 if cuda else SCALE_WITHOUT_CUDA
    interactions = args.interactions // scale
    n_users = int(interactions * USERS_PER_INTERACTION)
    n_items, ease_items = ITEMS // scale, EASE_ITEMS // scale
    matrix = synthetic_matrix(n_users, n_items, interactions)
    ease_matrix = matrix[:, :ease_items]  # columns are ordered by popularity
    note = "" if cuda else f" -- NO CUDA: scaled down {scale}x, CPU only"
    print_header(
        "ALS and EASE: GPU vs CPU" + note,
        f"synthetic {n_users} users x {n_items} items, {matrix.nnz} cells; EASE on the "
        f"{ease_items} most popular items ({ease_matrix.nnz} cells)",
    )

    sequences = synthetic_matrix(SEQ_USERS // scale, SEQ_ITEMS, SEQ_CELLS // scale)
    sequence_times = sp.csr_matrix(
        (np.random.default_rng(0).random(sequences.nnz), sequences.indices, sequences.indptr),
        shape=sequences.shape,
    )
    print(
        f"sequential model: synthetic {sequences.shape[0]} users x {sequences.shape[1]} items, "
        f"{sequences.nnz} cells, random times\n"
    )
    devices = ["cpu", "cuda"] if cuda else ["cpu"]
    if cuda:
        small = synthetic_matrix(2_000, 500, 20_000)
        ALS(factors=64, iterations=1, device="cuda").fit(small)
        EASE(device="cuda").fit(small)
        SASRec(epochs=1, device="cuda").fit(small)
        torch.cuda.synchronize()

    timings: dict[str, float] = {}
    for device in devices:
        started = time.perf_counter()
        ALS(
            factors=64,
            regularization=1.0,
            alpha=5.0,
            iterations=15,
            num_threads=args.threads,
            device=device,
        ).fit(matrix)
        timings[f"als_{device}_s"] = time.perf_counter() - started
        started = time.perf_counter()
        EASE(regularization=250.0, device=device).fit(ease_matrix)
        if device == "cuda":
            torch.cuda.synchronize()
        timings[f"ease_{device}_s"] = time.perf_counter() - started
        model = SASRec(epochs=2, device=device).fit(sequences, sequence_times)
        timings[f"sasrec_epoch_{device}_s"] = model.epoch_s[-1]

    rows = [
        [
            model,
            timings[f"{key}_cpu_s"],
            timings.get(f"{key}_cuda_s", "not measured"),
            timings[f"{key}_cpu_s"] / timings[f"{key}_cuda_s"] if cuda else "-",
        ]
        for model, key in (
            ("ALS (64 factors, 15 iterations)", "als"),
            (f"EASE ({ease_items} items)", "ease"),
            ("SASRec, one epoch (64 dims, 2 blocks, 50 items)", "sasrec_epoch"),
        )
    ]
    print_table(["model", "CPU s", "GPU s", "speed-up"], rows)
    print(
        json.dumps(
            {
                "cuda": cuda,
                "scale": 1 / scale,
                "cells": int(matrix.nnz),
                **{key: round(value, 3) for key, value in timings.items()},
                "als_speedup": round(timings["als_cpu_s"] / timings["als_cuda_s"], 2)
                if cuda
                else None,
                "ease_speedup": round(timings["ease_cpu_s"] / timings["ease_cuda_s"], 2)
                if cuda
                else None,
                "sasrec_epoch_speedup": round(
                    timings["sasrec_epoch_cpu_s"] / timings["sasrec_epoch_cuda_s"], 2
                )
                if cuda
                else None,
            }
        )
    )


if __name__ == "__main__":
    main()
