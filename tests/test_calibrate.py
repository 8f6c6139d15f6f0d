"""The abstention fit: threshold choice and rates checked by hand, the fit on data whose
answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from rag.answer import FEATURES
from rag.calibrate import abstention_rates, choose_threshold, fit_abstention


def test_threshold_catches_the_most_within_the_wrong_abstention_budget():
    probabilities = np.array([0.1, 0.2, 0.3, 0.6, 0.9])
    answerable = np.array([0, 0, 1, 0, 1])
    # Candidates: 0, 0.15, 0.25, 0.45, 0.75, 1. Abstaining below 0.45 would refuse the
    # answerable question at 0.3: one of two, 50%.
    assert choose_threshold(probabilities, answerable, 0.0) == pytest.approx(0.25)
    assert choose_threshold(probabilities, answerable, 0.5) == pytest.approx(0.75)
    # Abstaining on everything (1.0) catches no more than 0.75 does: no need to refuse more.
    assert choose_threshold(probabilities, answerable, 1.0) == pytest.approx(0.75)


def test_abstention_rates_by_hand():
    abstain = np.array([True, True, False, True, False, False])
    answerable = np.array([0, 1, 0, 0, 1, 1])
    precision, recall, wrong = abstention_rates(abstain, answerable)
    assert precision == pytest.approx(2 / 3)  # two of three abstentions were right
    assert recall == pytest.approx(2 / 3)  # two of three unanswerable questions caught
    assert wrong == pytest.approx(1 / 3)  # one of three answerable questions refused
    assert abstention_rates(np.zeros(2, bool), np.array([1, 1])) == (0.0, 0.0, 0.0)


def _features(rng, count, centre):
    return [{name: float(rng.normal(centre, 0.1)) for name in FEATURES} for _ in range(count)]


def test_fit_separates_questions_that_separate():
    rng = np.random.default_rng(0)
    features = _features(rng, 40, 1.0) + _features(rng, 20, 0.0)
    answerable = [True] * 40 + [False] * 20
    fit = fit_abstention(features, answerable, repeats=3, source="synthetic")
    assert (fit.abstain_recall, fit.abstain_precision, fit.wrong_abstention_rate) == (1, 1, 0)
    assert fit.recall_range == (1.0, 1.0) and fit.repeats == 3
    assert (fit.answerable, fit.unanswerable) == (40, 20)
    assert set(fit.model["weights"]) == set(FEATURES)
    assert all(w > 0 for w in fit.model["weights"].values())  # higher means answerable
    assert "synthetic (40 answerable, 20 unanswerable" in fit.model["fitted_on"]


def test_fit_on_noise_reports_what_noise_gives():
    rng = np.random.default_rng(1)
    features = _features(rng, 60, 0.5)
    answerable = [True, False] * 30
    fit = fit_abstention(features, answerable, repeats=3)
    assert fit.wrong_abstention_rate <= 0.05
    assert fit.abstain_recall < 0.5  # labels the features cannot see are not learned


def test_fit_needs_both_kinds_of_question():
    rng = np.random.default_rng(2)
    with pytest.raises(ValueError, match="both answerable and unanswerable"):
        fit_abstention(_features(rng, 5, 1.0), [True] * 5)
    with pytest.raises(ValueError, match="at least two"):
        fit_abstention(_features(rng, 5, 1.0), [True] * 4 + [False])
