"""The full SageMaker Clarify metric set, checked against AWS's ``smclarify`` package, and
the registration gate that reads it.

``smclarify`` is installed in the scikit-learn 1.2-1 image venv (ml/images/sklearn-1.2-1.txt,
run by ``make test``); in an environment without it the comparison tests skip.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from credit_default import bias

pytestmark = pytest.mark.control("explainability")


def _random_case(seed: int, n: int = 600, d_share: float = 0.4, disparity: float = 0.1):
    rng = np.random.default_rng(seed)
    is_d = rng.random(n) < d_share
    positive = rng.random(n) < (0.75 - disparity * is_d)
    predicted = np.where(rng.random(n) < 0.8, positive, ~positive)
    features = rng.normal(size=(n, 3)) + is_d[:, None] * 0.3
    group = rng.choice(["g1", "g2", "g3"], size=n)
    return positive, predicted, is_d, features, group


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_metric_equals_smclarify(seed):
    pytest.importorskip("smclarify", reason="smclarify is installed in the scikit-learn image venv (make test)")
    from smclarify.bias.metrics import posttraining as post
    from smclarify.bias.metrics import pretraining as pre

    y, p, d, x, g = _random_case(seed)
    ys, ps, ds, gs = pd.Series(y), pd.Series(p), pd.Series(d), pd.Series(g)
    feature = pd.Series(np.arange(len(y)))
    expected = {
        "CI": pre.CI(feature, ds), "DPL": pre.DPL(feature, ds, ys), "KL": pre.KL(ys, ds), "JS": pre.JS(ys, ds),
        "LP": pre.LP(ys, ds), "TVD": pre.TVD(ys, ds), "KS": pre.KS(ys, ds), "CDDL": pre.CDDL(feature, ds, ys, gs),
        "DPPL": post.DPPL(feature, ds, ps), "DI": post.DI(feature, ds, ps), "DCAcc": post.DCA(feature, ds, ys, ps),
        "DCR": post.DCR(feature, ds, ys, ps), "RD": post.RD(feature, ds, ys, ps), "SD": post.SD(feature, ds, ys, ps),
        "DAR": post.DAR(feature, ds, ys, ps), "DRR": post.DRR(feature, ds, ys, ps), "AD": post.AD(feature, ds, ys, ps),
        "TE": post.TE(feature, ds, ys, ps), "CDDPL": post.CDDPL(feature, ds, ps, gs),
        "FT": post.FT(pd.DataFrame(x), ds, ps), "GE": post.GE(ys, ps),
    }
    got = {name: value for name, (value, _) in bias.full_pretraining_metrics(y, d, g).items()}
    got.update({name: value for name, (value, _) in bias.full_posttraining_metrics(y, p, d, x, g).items()})
    assert set(got) == set(bias.PRETRAINING_METRICS + bias.POSTTRAINING_METRICS) == set(expected)
    for name, value in expected.items():
        assert got[name] == pytest.approx(float(value), abs=1e-12), name


def test_zero_denominators_follow_clarify_conventions():
    """Clarify: 0/0 = 0, x/0 = infinity (reported here as null with a reason)."""
    y = np.array([True, True, False, False, True, False])
    p = np.array([True, True, True, True, True, True])  # nobody rejected
    d = np.array([False, False, False, True, True, True])
    metrics = bias.full_posttraining_metrics(y, p, d)
    # nobody predicted rejected, yet both groups have rejections: infinite on both sides -> 0
    assert metrics["DCR"][0] == 0.0 and "Clarify's convention" in metrics["DCR"][1]
    value, reason = metrics["TE"]  # FN/FP: 0/FP on both sides
    assert value == 0.0 and reason is None
    y2 = np.array([True, True, True, True, False, False])
    p2 = np.array([False, False, True, True, True, False])
    d2 = np.array([False, False, True, True, True, True])
    te, reason = bias.full_posttraining_metrics(y2, p2, d2)["TE"]  # group a: FN 2, FP 0 -> infinite
    assert te is None and "infinite" in reason
    assert bias.full_pretraining_metrics(y, d)["CDDL"] == (None, "needs a group variable (--group-variable)")


def _frame(n_per_group: int, accuracy_a: float, accuracy_d: float, seed: int = 0) -> pd.DataFrame:
    """Predictions where the groups differ only in accuracy (AD = accuracy_a - accuracy_d)."""
    rows = []
    for value, accuracy in ((1, accuracy_a), (2, accuracy_d)):
        correct = int(round(accuracy * n_per_group))
        for i in range(n_per_group):
            label = i % 2
            predicted = label if i < correct else 1 - label
            rows.append({"SEX": value, "default": label, "predicted_label": predicted})
    return pd.DataFrame(rows).sample(frac=1.0, random_state=seed).reset_index(drop=True)


def test_gate_fails_on_evidence_and_only_warns_within_sampling_error():
    strong = bias.analyse_facets([bias.FacetSpec("SEX", [2])], "default", None, _frame(2000, 0.9, 0.7))
    assert strong["gate"]["passed"] is False
    assert any(f.startswith("SEX 2: AD = 0.2000") for f in strong["gate"]["failures"])
    assert strong["gate"]["worst"]["AD_max_abs"] == pytest.approx(0.2)
    # the same point estimate just over the threshold on few rows: a warning, not a failure
    noisy = bias.analyse_facets([bias.FacetSpec("SEX", [2])], "default", None, _frame(120, 0.8, 0.69))
    group = noisy["facet_groups"][0]
    assert group["gate_flags"]["AD"] == "warn" and group["gate_evidence"]["AD"]["evidence_outside_threshold"] is False
    assert noisy["gate"]["passed"] is True and noisy["gate"]["warnings"]
    # a Choice on the evidence bounds agrees with gate.passed; one on point estimates does not
    assert noisy["gate"]["worst"]["AD_max_abs"] > 0.1
    assert noisy["gate"]["worst_evidence"]["AD_max_abs"] == pytest.approx(group["gate_evidence"]["AD"]["abs_lower"])
    assert noisy["gate"]["worst_evidence"]["AD_max_abs"] <= 0.1
    assert strong["gate"]["worst_evidence"]["AD_max_abs"] > 0.1
    # with point-estimate gating the same data fails
    strict = bias.analyse_facets([bias.FacetSpec("SEX", [2])], "default", None, _frame(120, 0.8, 0.69), gate_confidence=0.0)
    assert strict["gate"]["passed"] is False


def test_small_groups_are_reported_not_gated_and_flat_map_has_every_metric():
    frame = _frame(60, 0.9, 0.5)
    report = bias.analyse_facets([bias.FacetSpec("SEX")], "default", frame, frame, min_group_size=100)
    assert report["gate"]["passed"] is True and len(report["gate"]["not_gated_small_groups"]) == 2
    assert set(report["by_facet"]["SEX"]) == {"1", "2"}  # each value against the rest
    flat = report["by_facet"]["SEX"]["2"]
    assert set(flat) == set(bias.PRETRAINING_METRICS + bias.POSTTRAINING_METRICS)
    assert flat["AD"] == pytest.approx(0.4)
    assert all(value is None or isinstance(value, float) for value in flat.values())
    assert set(report["gate"]["worst"]) == {"DI_min", "DI_max", "DPPL_max_abs", "RD_max_abs", "AD_max_abs"}


def test_standard_errors_match_the_binomial_formula():
    y = np.array([True] * 60 + [False] * 40 + [True] * 30 + [False] * 70)
    d = np.array([False] * 100 + [True] * 100)
    se = bias.standard_errors(y, d)["DPL"]
    assert se == pytest.approx(math.sqrt(0.6 * 0.4 / 100 + 0.3 * 0.7 / 100))


def test_a_value_missing_from_one_data_set_gives_nulls_not_a_crash():
    predictions = _frame(150, 0.8, 0.8)
    pretraining = predictions[predictions["SEX"] == 1].assign(SEX=np.where(np.arange(150) % 2, 1, 3))
    report = bias.analyse_facets([bias.FacetSpec("SEX")], "default", pretraining, predictions)
    assert report["by_facet"]["SEX"]["2"]["CI"] is None  # 2 is not in the pre-training data
    assert "not present" in report["facet_groups"][1]["reasons"]["CI"]
    assert report["by_facet"]["SEX"]["2"]["AD"] == pytest.approx(0.0)
    with pytest.raises(bias.BiasConfigError, match="not present"):  # configured values must exist
        bias.analyse_facets([bias.FacetSpec("SEX", [2])], "default", pretraining, predictions)
