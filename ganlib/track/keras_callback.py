"""``ganlib.track.KerasCallback``: a ``fit()``-style Keras GAN (keras-io's ``GAN(keras.Model)``
with ``generator`` and ``discriminator`` attributes and a ``train_step``) attached in one line:

    gan.fit(dataset, epochs=EPOCHS, callbacks=[ganlib.track.KerasCallback(run)])
"""

from __future__ import annotations

import keras

from ganlib.track.run import Run, TrackError


class KerasCallback(keras.callbacks.Callback):
    """Logs ``train_step``'s numbers every ``log_every`` steps, saves a checkpoint of the model's
    ``generator`` (and ``discriminator``) at every epoch's end, and ends ``fit()`` when the app's
    Stop is pressed (Pause holds the loop between steps)."""

    def __init__(self, run: Run, log_every: int = 10):
        super().__init__()
        self.run = run
        self.log_every = max(1, int(log_every))
        self.step = max(run.last_step, 0)  # a resumed run goes on from its newest checkpoint
        self.first_epoch = run.last_epoch

    def on_train_begin(self, logs=None):
        if getattr(self.model, "generator", None) is None:
            raise TrackError(
                "KerasCallback needs a model with a .generator attribute (keras-io's GAN class has one)"
            )
        if self.params.get("steps"):  # fractional epochs on the charts, progress in the app
            self.run.set_steps_per_epoch(int(self.params["steps"]))

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.step % self.log_every == 0:
            self._log(logs)
        if self.run.should_stop():
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self.step > self.run.last_step:  # every epoch's end is a log point, however short
            self._log(logs)
        discriminator = getattr(self.model, "discriminator", None)
        self.run.checkpoint(
            self.first_epoch + epoch + 1,
            generator=self.model.generator,
            discriminator=discriminator,
            step=self.step,
        )

    def _log(self, logs) -> None:
        numbers = {name: float(value) for name, value in (logs or {}).items() if _is_number(value)}
        if numbers:
            self.run.log(self.step, **numbers)


def _is_number(value) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True
