"""Fit the abstention decision on labelled questions, instead of guessing a threshold.

Each question's answer yields a few features (`answer.answer_features`); a logistic
regression learns from answerable and unanswerable questions how they separate, and
the threshold is the highest one that keeps wrong abstentions on answerable questions
at or under a target rate. Figures are out-of-fold (stratified k-fold), so they say how
the decision does on questions it was not fitted on.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from .answer import FEATURES


@dataclass(frozen=True, slots=True)
class Calibration:
    model: dict
    abstain_precision: float
    abstain_recall: float
    wrong_abstention_rate: float
    answerable: int
    unanswerable: int


def fit_abstention(features: Sequence[dict[str, float]], answerable: Sequence[bool], *,
                   max_wrong_abstention: float = 0.05, folds: int = 5, seed: int = 0,
                   source: str = "") -> Calibration:
    """Fit weights and threshold; report out-of-fold abstention precision and recall."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    x = np.array([[f[name] for name in FEATURES] for f in features], dtype=np.float64)
    y = np.array(answerable, dtype=int)
    if y.min() == y.max():
        raise ValueError("fitting abstention needs both answerable and unanswerable questions")
    out_of_fold = np.zeros(len(y))
    splits = StratifiedKFold(n_splits=min(folds, int(min(y.sum(), len(y) - y.sum()))),
                             shuffle=True, random_state=seed)
    for train, test in splits.split(x, y):
        model = LogisticRegression(C=10.0, max_iter=1000).fit(x[train], y[train])
        out_of_fold[test] = model.predict_proba(x[test])[:, 1]
    threshold = choose_threshold(out_of_fold, y, max_wrong_abstention)
    abstain = out_of_fold < threshold
    final = LogisticRegression(C=10.0, max_iter=1000).fit(x, y)
    model = {
        "features": list(FEATURES),
        "weights": {n: round(float(w), 6) for n, w in zip(FEATURES, final.coef_[0])},
        "bias": round(float(final.intercept_[0]), 6),
        "threshold": round(float(threshold), 6),
        "fitted_on": f"{source} ({int(y.sum())} answerable, {int(len(y) - y.sum())} "
                     f"unanswerable questions), {date.today().isoformat()}",
    }
    true_abstain = int((abstain & (y == 0)).sum())
    return Calibration(
        model=model,
        abstain_precision=true_abstain / max(int(abstain.sum()), 1),
        abstain_recall=true_abstain / max(int((y == 0).sum()), 1),
        wrong_abstention_rate=int((abstain & (y == 1)).sum()) / max(int(y.sum()), 1),
        answerable=int(y.sum()),
        unanswerable=int(len(y) - y.sum()),
    )


def choose_threshold(probabilities: np.ndarray, answerable: np.ndarray,
                     max_wrong_abstention: float) -> float:
    """The highest threshold (most abstention) whose wrong-abstention rate stays in budget.

    Abstain when probability < threshold. Candidates lie midway between sorted scores.
    """
    scores = np.sort(np.unique(probabilities))
    candidates = np.concatenate([[0.0], (scores[:-1] + scores[1:]) / 2, [1.0]])
    positives = max(int(answerable.sum()), 1)
    best = 0.0
    for threshold in candidates:
        wrong = int(((probabilities < threshold) & (answerable == 1)).sum()) / positives
        if wrong <= max_wrong_abstention:
            best = max(best, float(threshold))
    return best


def write_model(model: dict, path: Path) -> None:
    path.write_text(json.dumps(model, indent=2) + "\n", encoding="utf-8")
