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


def _pairwise_sq_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    return np.maximum(d, 0)


def _kth_neighbour_radii(features: np.ndarray, k: int, chunk: int = 1000) -> np.ndarray:
    radii = np.empty(len(features))
    for i in range(0, len(features), chunk):
        d = _pairwise_sq_distances(features[i : i + chunk], features)
        # Index k, not k-1: each point is its own nearest neighbour at distance 0.
        radii[i : i + chunk] = np.partition(d, k, axis=1)[:, k]
    return radii


def _fraction_inside(points: np.ndarray, manifold: np.ndarray, radii: np.ndarray, chunk: int = 1000) -> float:
    inside = 0
    for i in range(0, len(points), chunk):
        d = _pairwise_sq_distances(points[i : i + chunk], manifold)
        inside += int((d <= radii[None, :]).any(axis=1).sum())
    return inside / len(points)


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> tuple[float, float]:
    """Precision: share of fakes inside the real manifold (fidelity). Recall: share of reals
    inside the fake manifold (diversity; low recall is mode collapse)."""
    real, fake = np.asarray(real, np.float32), np.asarray(fake, np.float32)
    precision = _fraction_inside(fake, real, _kth_neighbour_radii(real, k))
    recall = _fraction_inside(real, fake, _kth_neighbour_radii(fake, k))
    return precision, recall


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
    distances = np.empty((len(queries), k), np.float32)
    indices = np.empty((len(queries), k), np.int64)
    for i in range(0, len(queries), chunk):
        d = _pairwise_sq_distances(queries[i : i + chunk], reference)
        part = np.argpartition(d, k - 1, axis=1)[:, :k] if k < d.shape[1] else np.argsort(d, axis=1)[:, :k]
        order = np.take_along_axis(d, part, axis=1).argsort(axis=1)
        indices[i : i + chunk] = np.take_along_axis(part, order, axis=1)
        distances[i : i + chunk] = np.sqrt(np.take_along_axis(d, indices[i : i + chunk], axis=1))
    return distances, indices


COPY_QUANTILE = 0.1


def copy_share(fake: np.ndarray, train: np.ndarray, held_out: np.ndarray) -> float:
    """Memorisation: the share of samples closer to their nearest training image than 90% of
    held-out real images are to theirs. Samples from the data distribution score about 0.1
    (like held-out images); copies of training images score near 1."""
    threshold = np.quantile(nearest(held_out, train)[0][:, 0], COPY_QUANTILE)
    return float((nearest(fake, train)[0][:, 0] < threshold).mean())
