"""The metric functions against closed forms and known cases."""

import numpy as np
import pytest

from ganlib.measure import metrics


def _rotation(dim, seed):
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((dim, dim)))
    return q


def test_frechet_distance_matches_the_closed_form_for_commuting_covariances():
    dim = 16
    rng = np.random.default_rng(0)
    q = _rotation(dim, 1)
    d1, d2 = rng.uniform(0.1, 3, dim), rng.uniform(0.1, 3, dim)
    mu1, mu2 = rng.standard_normal(dim), rng.standard_normal(dim)
    s1, s2 = q @ np.diag(d1) @ q.T, q @ np.diag(d2) @ q.T
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(d1 + d2 - 2 * np.sqrt(d1 * d2))
    assert metrics.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, abs=1e-6)


def test_frechet_distance_one_dimensional():
    # N(0, 1) vs N(3, 4): 9 + 1 + 4 - 2 * 2 = 10
    assert metrics.frechet_distance([0.0], [[1.0]], [3.0], [[4.0]]) == pytest.approx(10.0, abs=1e-9)


def test_fid_of_a_set_with_itself_is_zero_and_fid_is_symmetric():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((2000, 32))
    b = rng.standard_normal((2000, 32)) * 1.5 + 0.3
    assert abs(metrics.fid(a, a)) < 1e-6
    assert metrics.fid(a, b) == pytest.approx(metrics.fid(b, a), rel=1e-6)
    assert metrics.fid(a, b) > 1.0


def test_fid_handles_singular_covariances():
    rng = np.random.default_rng(3)
    a = np.zeros((500, 8))
    a[:, 0] = rng.standard_normal(500)  # rank one
    b = a + 0.01 * rng.standard_normal((500, 8))
    assert np.isfinite(metrics.fid(a, b))


def test_kid_is_near_zero_for_one_distribution_and_positive_for_two():
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((3000, 16)), rng.standard_normal((3000, 16))
    same, same_std = metrics.kid(a, b, subsets=30, subset_size=500)
    assert abs(same) < 3 * same_std + 1e-3
    different, _ = metrics.kid(a, b + 1.0, subsets=30, subset_size=500)
    assert different > 10 * max(abs(same), same_std)


def test_precision_recall_separate_fidelity_from_mode_collapse():
    rng = np.random.default_rng(5)
    real = rng.standard_normal((1500, 8))
    precision, recall = metrics.precision_recall(real, rng.standard_normal((1500, 8)))
    assert precision > 0.8 and recall > 0.8
    collapsed = real[:50] + 0.01 * rng.standard_normal((50, 8))  # a few real modes only
    precision, recall = metrics.precision_recall(real, np.repeat(collapsed, 30, axis=0))
    assert precision > 0.9 and recall < 0.3


def test_inception_score_and_coverage():
    uniform = np.full((1000, 10), 0.1)
    assert metrics.inception_score(uniform)[0] == pytest.approx(1.0)
    confident = np.eye(10)[np.arange(1000) % 10]
    assert metrics.inception_score(confident, splits=1)[0] == pytest.approx(10.0, rel=1e-6)
    coverage = metrics.class_coverage(confident)
    assert coverage["classes_covered"] == 10 and coverage["entropy"] == pytest.approx(1.0)
    one_class = metrics.class_coverage(np.eye(10)[np.zeros(1000, int)])
    assert one_class["classes_covered"] == 1 and one_class["entropy"] == pytest.approx(0.0)
