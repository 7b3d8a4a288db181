"""Training: the GAN ``keras.Model`` and its ``train_step``, ``train()`` (``fit`` with callbacks,
under a ``tf.distribute`` strategy), the callbacks, a GAN's models to and from a checkpoint, and
the trainer's speed benchmark."""
