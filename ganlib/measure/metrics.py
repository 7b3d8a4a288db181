"""Sample-quality metrics on feature vectors, in float64 numpy, as the reference codes compute them.

- FID: Heusel et al. 2017; the sqrtm, imaginary-part and epsilon handling of pytorch-fid/TTUR.
- KID: Binkowski et al. 2018; unbiased MMD^2 with the cubic polynomial kernel, over subsets.
- Precision/recall: Kynkaanniemi et al. 2019; k-NN manifolds in feature space (k = 3).
- Inception Score and class coverage from the evaluator's class probabilities.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg


def mean_and_cov(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    features = np.asarray(features, np.float64)
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 sqrt(S1 S2))."""
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    sigma1, sigma2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    diff = mu1 - mu2
    covmean = _sqrtm(sigma1.dot(sigma2))
    if not np.isfinite(covmean).all():
        # Singular product: add eps to the diagonals, as the reference implementation does.
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = _sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"sqrtm gave a large imaginary component {np.max(np.abs(covmean.imag))}")
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def _sqrtm(matrix: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)  # singular input is handled above
        result = linalg.sqrtm(matrix)
    return result[0] if isinstance(result, tuple) else result  # older SciPy returned (root, err)


def fid(features1: np.ndarray, features2: np.ndarray) -> float:
    return frechet_distance(*mean_and_cov(features1), *mean_and_cov(features2))


def kid(
    features1: np.ndarray, features2: np.ndarray, subsets: int = 50, subset_size: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """Kernel Inception Distance: (mean, std) of unbiased MMD^2 over random subsets."""
    f1, f2 = np.asarray(features1, np.float64), np.asarray(features2, np.float64)
    m = min(subset_size, len(f1), len(f2))
    dim = f1.shape[1]
    rng = np.random.default_rng(seed)
    values = np.empty(subsets)
    for i in range(subsets):
        x = f1[rng.choice(len(f1), m, replace=False)]
        y = f2[rng.choice(len(f2), m, replace=False)]
        kxx = (x @ x.T / dim + 1) ** 3
        kyy = (y @ y.T / dim + 1) ** 3
        kxy = (x @ y.T / dim + 1) ** 3
        values[i] = (
            (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
            + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
            - 2 * kxy.mean()
        )
    return float(values.mean()), float(values.std())


def _pairwise_sq_distances(a: np.ndarray, b: np.ndarray, b_norms: np.ndarray | None = None) -> np.ndarray:
    """|a_i|^2 + |b_j|^2 - 2 a_i.b_j, clipped at 0; in place, so a chunk against 60,000 training
    images holds one matrix, not four (doubling is exact: the values are those of the plain sum)."""
    products = a @ b.T
    products *= 2
    d = (a * a).sum(1)[:, None] + ((b * b).sum(1) if b_norms is None else b_norms)[None, :]
    d -= products
    return np.maximum(d, 0, out=d)


def kth_neighbour_radii(features: np.ndarray, k: int = 3, chunk: int = 1000) -> np.ndarray:
    """Each point's distance (squared) to its k-th nearest other point: the radius of its ball in
    the k-NN manifold of precision and recall."""
    features = np.asarray(features, np.float32)
    radii = np.empty(len(features))
    for i in range(0, len(features), chunk):
        d = _pairwise_sq_distances(features[i : i + chunk], features)
        # Index k, not k-1: each point is its own nearest neighbour at distance 0.
        radii[i : i + chunk] = np.partition(d, k, axis=1)[:, k]
    return radii


def precision_recall(
    real: np.ndarray, fake: np.ndarray, k: int = 3, real_radii: np.ndarray | None = None, chunk: int = 1000
) -> tuple[float, float]:
    """Precision: share of fakes inside the real manifold (fidelity). Recall: share of reals
    inside the fake manifold (diversity; low recall is mode collapse). ``real_radii``: the real
    set's ``kth_neighbour_radii``, the same for every checkpoint, when the caller keeps them."""
    real, fake = np.asarray(real, np.float32), np.asarray(fake, np.float32)
    real_radii = kth_neighbour_radii(real, k) if real_radii is None else real_radii
    fake_radii = kth_neighbour_radii(fake, k)
    # One pass over the fake-to-real distances answers both: a fake row inside some real ball
    # (precision), a real column inside some fake ball (recall).
    fake_inside = np.zeros(len(fake), bool)
    real_inside = np.zeros(len(real), bool)
    real_norms = (real * real).sum(1)
    for i in range(0, len(fake), chunk):
        d = _pairwise_sq_distances(fake[i : i + chunk], real, real_norms)
        fake_inside[i : i + chunk] = (d <= real_radii[None, :]).any(axis=1)
        real_inside |= (d <= fake_radii[i : i + chunk, None]).any(axis=0)
    return float(fake_inside.mean()), float(real_inside.mean())


def inception_score(probabilities: np.ndarray, splits: int = 10) -> tuple[float, float]:
    """exp(E_x KL(p(y|x) || p(y))), mean and std over splits."""
    p = np.asarray(probabilities, np.float64)
    scores = []
    for part in np.array_split(p, splits):
        marginal = part.mean(axis=0, keepdims=True)
        kl = (part * (np.log(part + 1e-12) - np.log(marginal + 1e-12))).sum(axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


def class_coverage(probabilities: np.ndarray, min_share: float = 0.1) -> dict:
    """Predicted-label histogram, its entropy (normalised to 1 for uniform), and the number of
    classes that get at least ``min_share`` of a fair share (1/classes) of the samples."""
    p = np.asarray(probabilities)
    classes = p.shape[1]
    counts = np.bincount(p.argmax(axis=1), minlength=classes)
    shares = counts / max(counts.sum(), 1)
    nonzero = shares[shares > 0]
    entropy = float(-(nonzero * np.log(nonzero)).sum() / np.log(classes)) if classes > 1 else 1.0
    return {
        "histogram": counts.tolist(),
        "entropy": entropy,
        "classes_covered": int((shares >= min_share / classes).sum()),
        "classes": classes,
    }


def per_class(
    real_features: np.ndarray,
    real_labels: np.ndarray,
    fake_features: np.ndarray,
    fake_probabilities: np.ndarray,
    fake_labels: np.ndarray,
) -> list[dict]:
    """For a conditional generator, each class asked for: the FID of its samples against real
    images of that class (intra-class FID), and its label accuracy, the share of its samples the
    classifier puts in that class (the classifier accuracy score of the StudioGAN papers)."""
    out = []
    for label in range(fake_probabilities.shape[1]):
        real, fake = real_features[real_labels == label], fake_features[fake_labels == label]
        asked = fake_probabilities[fake_labels == label]
        out.append(
            {
                "label": label,
                "samples": len(fake),
                "fid": fid(real, fake) if len(real) > 1 and len(fake) > 1 else float("nan"),
                "label_accuracy": float((asked.argmax(axis=1) == label).mean())
                if len(asked)
                else float("nan"),
            }
        )
    return out


def nearest(
    queries: np.ndarray, reference: np.ndarray, k: int = 1, chunk: int = 500
) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distances to, and indices of, each query's ``k`` nearest reference points."""
    queries, reference = np.asarray(queries, np.float32), np.asarray(reference, np.float32)
    if k == 1:
        return _nearest_one(queries, reference, chunk)
    reference_norms = (reference * reference).sum(1)
    distances = np.empty((len(queries), k), np.float32)
    indices = np.empty((len(queries), k), np.int64)
    for i in range(0, len(queries), chunk):
        d = _pairwise_sq_distances(queries[i : i + chunk], reference, reference_norms)
        part = np.argpartition(d, k - 1, axis=1)[:, :k] if k < d.shape[1] else np.argsort(d, axis=1)[:, :k]
        order = np.take_along_axis(d, part, axis=1).argsort(axis=1)
        indices[i : i + chunk] = np.take_along_axis(part, order, axis=1)
        distances[i : i + chunk] = np.sqrt(np.take_along_axis(d, indices[i : i + chunk], axis=1))
    return distances, indices


def _nearest_one(queries: np.ndarray, reference: np.ndarray, chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """``nearest`` for k = 1, the copy share's case (issue 44: two thirds of a checkpoint's
    evaluation went to a partition of a 10,000 x 60,000 matrix). A query's nearest point minimises
    |b|^2 - 2 a.b, which one matrix product gives, with [a, 1] against [-2 b, |b|^2]; an argmin
    over it is the one pass over the matrix; |a|^2 is added to the minimum alone."""
    augmented = np.hstack([-2 * reference, (reference * reference).sum(1, keepdims=True)])
    query_norms = (queries * queries).sum(1)
    distances = np.empty((len(queries), 1), np.float32)
    indices = np.empty((len(queries), 1), np.int64)
    for i in range(0, len(queries), chunk):
        part = queries[i : i + chunk]
        scores = np.hstack([part, np.ones((len(part), 1), np.float32)]) @ augmented.T
        best = scores.argmin(axis=1)
        indices[i : i + chunk, 0] = best
        squared = query_norms[i : i + chunk] + scores[np.arange(len(part)), best]
        distances[i : i + chunk, 0] = np.sqrt(np.maximum(squared, 0))
    return distances, indices


COPY_QUANTILE = 0.1


def copy_threshold(train: np.ndarray, held_out: np.ndarray) -> float:
    """The distance to the nearest training image that 90% of held-out real images exceed: the
    copy share's yardstick, the same for every checkpoint of a run."""
    return float(np.quantile(nearest(held_out, train)[0][:, 0], COPY_QUANTILE))


def copy_share(fake: np.ndarray, train: np.ndarray, threshold: float) -> float:
    """Memorisation: the share of samples closer to their nearest training image than 90% of
    held-out real images are to theirs (``copy_threshold``). Samples from the data distribution
    score about 0.1 (like held-out images); copies of training images score near 1."""
    return float((nearest(fake, train)[0][:, 0] < threshold).mean())
