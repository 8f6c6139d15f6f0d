"""Fit the abstention decision on labelled questions, instead of guessing a threshold.

Each question's answer yields a few features (`answer.answer_features`); a logistic
regression learns from answerable and unanswerable questions how they separate, and
the threshold is the one that catches the most unanswerable questions while keeping
wrong abstentions on answerable ones at or under a target rate. Figures are out-of-fold (stratified k-fold), so they say how
the decision does on questions it was not fitted on. With a hundred-odd questions one
split's figures move by a question or two with the shuffle, so the k-fold is repeated
with other shuffles and the figures are the mean over repeats, with the lowest and
highest recall beside it.
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
    recall_range: tuple[float, float] = (0.0, 0.0)
    repeats: int = 1


def fit_abstention(features: Sequence[dict[str, float]], answerable: Sequence[bool], *,
                   max_wrong_abstention: float = 0.05, folds: int = 5, repeats: int = 10,
                   seed: int = 0, source: str = "",
                   names: Sequence[str] = FEATURES) -> Calibration:
    """Fit weights and threshold on the features `names`; report out-of-fold abstention
    precision and recall, averaged over `repeats` shuffles of the k-fold split."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    x = np.array([[f[name] for name in names] for f in features], dtype=np.float64)
    y = np.array(answerable, dtype=int)
    if y.min() == y.max():
        raise ValueError("fitting abstention needs both answerable and unanswerable questions")
    n_splits = min(folds, int(min(y.sum(), len(y) - y.sum())))
    if n_splits < 2:
        raise ValueError("fitting abstention needs at least two answerable and two "
                         "unanswerable questions")
    rates, thresholds = [], []
    for repeat in range(repeats):
        out_of_fold = np.zeros(len(y))
        splits = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed + repeat)
        for train, test in splits.split(x, y):
            model = LogisticRegression(C=10.0, max_iter=1000).fit(x[train], y[train])
            out_of_fold[test] = model.predict_proba(x[test])[:, 1]
        thresholds.append(choose_threshold(out_of_fold, y, max_wrong_abstention))
        rates.append(abstention_rates(out_of_fold < thresholds[-1], y))
    final = LogisticRegression(C=10.0, max_iter=1000).fit(x, y)
    # The threshold that held wrong abstentions in budget on questions the model had not
    # seen (not on the ones it was fitted on, where answerable ones look surer than they
    # will on new questions).
    threshold = float(np.median(thresholds))
    model = {
        "features": list(names),
        "weights": {n: round(float(w), 6) for n, w in zip(names, final.coef_[0], strict=True)},
        "bias": round(float(final.intercept_[0]), 6),
        "threshold": round(float(threshold), 6),
        "fitted_on": f"{source} ({int(y.sum())} answerable, {int(len(y) - y.sum())} "
                     f"unanswerable questions), {date.today().isoformat()}",
    }
    precision, recall, wrong = np.mean(rates, axis=0)
    recalls = [r[1] for r in rates]
    return Calibration(model=model, abstain_precision=float(precision),
                       abstain_recall=float(recall), wrong_abstention_rate=float(wrong),
                       answerable=int(y.sum()), unanswerable=int(len(y) - y.sum()),
                       recall_range=(min(recalls), max(recalls)), repeats=repeats)


def abstention_rates(abstain: np.ndarray, answerable: np.ndarray) -> tuple[float, float, float]:
    """Abstention precision (abstentions on unanswerable questions, of all abstentions),
    recall (of unanswerable questions, the share abstained on) and the wrong-abstention
    rate (of answerable questions, the share abstained on)."""
    unanswerable = answerable == 0
    right = int((abstain & unanswerable).sum())
    return (right / max(int(abstain.sum()), 1),
            right / max(int(unanswerable.sum()), 1),
            int((abstain & ~unanswerable).sum()) / max(int((~unanswerable).sum()), 1))


def choose_threshold(probabilities: np.ndarray, answerable: np.ndarray,
                     max_wrong_abstention: float) -> float:
    """The threshold that abstains on the most unanswerable questions while its
    wrong-abstention rate stays in budget, and of those the lowest: refusing more
    answerable questions for no more recall would only cost.

    Abstain when probability < threshold. Candidates lie midway between sorted scores.
    """
    scores = np.sort(np.unique(probabilities))
    candidates = np.concatenate([[0.0], (scores[:-1] + scores[1:]) / 2, [1.0]])
    positives = max(int(answerable.sum()), 1)
    best, best_caught = 0.0, -1
    for threshold in candidates:  # ascending: the first to reach a count is the lowest
        abstain = probabilities < threshold
        wrong = int((abstain & (answerable == 1)).sum()) / positives
        caught = int((abstain & (answerable == 0)).sum())
        if wrong <= max_wrong_abstention and caught > best_caught:
            best, best_caught = float(threshold), caught
    return best


def write_model(model: dict, path: Path) -> None:
    path.write_text(json.dumps(model, indent=2) + "\n", encoding="utf-8")
