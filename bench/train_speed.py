"""ALS training time: this engine's torch ALS against the implicit library's CPU ALS.

Command:  .venv/bin/python bench/train_speed.py [--threads N] [--repeats 3]
Data:     the Online Retail reference-protocol training matrix (leave-last-out split), or a
          synthetic matrix of the same size when the file is absent.

Both fit the same objective (Hu, Koren & Volinsky 2008: confidence 1 + alpha*r, preference
r > 0) with the same factors, regularisation, iterations, CG steps (3) and threads, in the same
process. implicit reads the confidence itself, so it gets 1 + alpha*r as data with alpha=1, and
its BLAS is pinned to one thread as implicit recommends. Each arm is warmed up once, then the arms
alternate; medians are compared. The training loss and NDCG@10 on the held-out items show that
both reach the same model quality.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch
from _common import (
    CITATION,
    RETAIL_PATH,
    load_reference,
    print_header,
    print_table,
    synthetic_matrix,
)
from threadpoolctl import threadpool_limits

from recommendations.engine.metrics import ranking_metrics
from recommendations.engine.models import ALS

FACTORS, REGULARIZATION, ALPHA, ITERATIONS = 64, 1.0, 5.0, 15


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from implicit.cpu.als import AlternatingLeastSquares

    if RETAIL_PATH.exists():
        reference = load_reference()
        train, test = reference.split.train, reference.split.test
        data = f"Online Retail reference training matrix ({CITATION})"
    else:
        train = synthetic_matrix(4_335, 3_659, 262_000)
        test = None
        data = "synthetic power-law matrix (Online Retail file not found)"
    print_header("ALS fit time: ours (torch) vs implicit (CPU)", data)
    print(
        f"matrix: {train.shape[0]} users x {train.shape[1]} items, {train.nnz} cells; factors "
        f"{FACTORS}, regularization {REGULARIZATION}, alpha {ALPHA}, iterations {ITERATIONS}, "
        f"CG steps 3, threads {args.threads}\n"
    )

    torch.set_num_threads(args.threads)
    confidence = train.copy()
    confidence.data = 1.0 + ALPHA * confidence.data

    def fit_ours() -> ALS:
        return ALS(
            FACTORS, REGULARIZATION, ALPHA, ITERATIONS, num_threads=args.threads, device="cpu"
        ).fit(train)

    def fit_implicit() -> AlternatingLeastSquares:
        model = AlternatingLeastSquares(
            factors=FACTORS,
            regularization=REGULARIZATION,
            alpha=1.0,
            iterations=ITERATIONS,
            num_threads=args.threads,
            random_state=0,
        )
        with threadpool_limits(1, "blas"):
            model.fit(confidence, show_progress=False)
        return model

    ours_model, implicit_model = fit_ours(), fit_implicit()  # warm-up
    ours_times, implicit_times = [], []
    for _ in range(args.repeats):
        for fit, times in ((fit_ours, ours_times), (fit_implicit, implicit_times)):
            started = time.perf_counter()
            fit()
            times.append(time.perf_counter() - started)

    as_ours = ALS(FACTORS, REGULARIZATION, ALPHA, device="cpu")
    as_ours.train = ours_model.train
    as_ours.user_factors = torch.from_numpy(np.ascontiguousarray(implicit_model.user_factors))
    as_ours.item_factors = torch.from_numpy(np.ascontiguousarray(implicit_model.item_factors))
    rows = []
    for name, model, times in (
        ("ours (torch CG)", ours_model, ours_times),
        ("implicit (CPU CG)", as_ours, implicit_times),
    ):
        quality = ""
        if test is not None:
            users = np.flatnonzero(np.diff(test.indptr))
            top, _ = model.recommend(users, n=20)
            quality = ranking_metrics(top, test[users])["ndcg@10"]
        rows.append([name, statistics.median(times), min(times), model.loss(), quality])
    print_table(["model", "median fit s", "best fit s", "training loss", "ndcg@10"], rows)

    ours_s, implicit_s = statistics.median(ours_times), statistics.median(implicit_times)
    print(
        json.dumps(
            {
                "ours_s": round(ours_s, 4),
                "implicit_s": round(implicit_s, 4),
                "ratio": round(ours_s / implicit_s, 4),
            }
        )
    )


if __name__ == "__main__":
    main()
