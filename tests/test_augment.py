"""DiffAugment's ops do what they say, let gradients through, and change a training step."""

import numpy as np
import pytest
import tensorflow as tf
from conftest import tiny_config

from ganlib.training.gan import build_gan
from ganlib.zoo import augment


def _draw_from(values):
    """A draw that returns the given numbers (per image) in order: each op's randomness, fixed."""
    queue = list(values)
    return lambda shape, salt: tf.fill(shape, tf.constant(queue.pop(0), tf.float32))


def test_translation_shifts_whole_pixels_and_fills_with_background():
    image = np.full((1, 8, 8, 1), -1.0, np.float32)
    image[0, 3, 3, 0] = 1.0
    # u = 0.99 gives the largest shift down/right: limit round(8 * 0.125) = 1 pixel.
    shifted = augment.translation(tf.constant(image), _draw_from([0.99, 0.99]), 0).numpy()
    assert shifted[0, 4, 4, 0] == 1.0 and (shifted == 1.0).sum() == 1
    left_up = augment.translation(tf.constant(image), _draw_from([0.0, 0.0]), 0).numpy()
    assert left_up[0, 2, 2, 0] == 1.0
    edge = np.ones((1, 8, 8, 1), np.float32)
    moved = augment.translation(tf.constant(edge), _draw_from([0.99, 0.5]), 0).numpy()
    assert (moved[0, 0, :, 0] == -1.0).all() and (moved[0, 1:, :, 0] == 1.0).all()  # background came in


def test_cutout_fills_a_square_of_half_the_side():
    images = tf.ones((2, 8, 8, 1))
    out = augment.cutout(images, _draw_from([0.5, 0.5]), 0).numpy()
    assert ((out == -1.0).sum(axis=(1, 2, 3)) == 16).all()  # 4 x 4 at the centre
    assert (out[:, 2:6, 2:6] == -1.0).all()


def test_gradients_flow_through_every_policy():
    x = tf.Variable(tf.random.uniform((4, 28, 28, 1), -1, 1))
    draw = lambda shape, salt: tf.random.stateless_uniform(shape, [salt, 1])  # noqa: E731
    for policy in augment.POLICIES:
        with tf.GradientTape() as tape:
            y = tf.reduce_sum(augment.augment(policy, x, draw, 0) ** 2)
        assert float(tf.reduce_sum(tf.abs(tape.gradient(y, x)))) > 0, policy


@pytest.mark.parametrize("policy", ["translation", "translation,cutout"])
def test_a_training_step_with_augmentation_moves_both_networks_and_differs_from_none(policy):
    def one_step(augment_policy):
        gan = build_gan(tiny_config(augment=augment_policy), (28, 28, 1), num_classes=10)
        before = [w.numpy().copy() for w in (*gan.generator.weights, *gan.discriminator.weights)]
        real = tf.random.stateless_uniform((16, 28, 28, 1), [1, 2], -1, 1)
        labels = tf.zeros((16,), tf.int32)
        gan.train_step((real, labels))
        after = [w.numpy() for w in (*gan.generator.weights, *gan.discriminator.weights)]
        return before, after

    before, after = one_step(policy)
    assert sum(not np.array_equal(b, a) for b, a in zip(before, after)) > len(before) // 2
    _, plain = one_step("none")
    assert any(not np.allclose(a, p) for a, p in zip(after, plain))
