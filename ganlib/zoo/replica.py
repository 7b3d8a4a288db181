"""Random draws inside a training step that are right per replica under ``tf.distribute``.

Each replica holds a contiguous slice of the global batch. Drawing a random tensor over the
global batch from a seed all replicas share, and keeping this replica's rows, gives every replica
numbers of its own and makes N replicas draw exactly what one device would (tests/test_distribute.py).
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import tensorflow as tf


def replica_rows(draw: Callable[..., tf.Tensor], shape, seed) -> tf.Tensor:
    """This replica's rows of ``draw(global shape, seed=seed)``; ``shape`` is this replica's,
    its first axis the batch. On one device, simply ``draw(shape, seed=seed)``."""
    context = tf.distribute.get_replica_context()
    replicas, replica = context.num_replicas_in_sync, context.replica_id_in_sync_group
    shape = tf.convert_to_tensor(shape, tf.int32)
    rows = shape[0]
    values = draw(tf.concat([[rows * replicas], shape[1:]], 0), seed=seed)
    return values[replica * rows : (replica + 1) * rows]


class Dropout(keras.layers.Dropout):
    """Keras's Dropout, with the mask drawn by ``replica_rows``. Keras's own draws one mask per
    replica from a seed all replicas share, so every replica would drop the same units of its
    examples. (Named like Keras's layer so that checkpoints of older runs still load.)"""

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        if self.noise_shape is not None:  # a shared mask along some axes: not used by our models
            return super().call(inputs, training=training)
        seed = tf.cast(self.seed_generator.next(), tf.int64)
        keep = replica_rows(tf.random.stateless_uniform, tf.shape(inputs), seed) >= self.rate
        return inputs * tf.cast(keep, inputs.dtype) / tf.cast(1.0 - self.rate, inputs.dtype)
