"""Attach any training loop to the workbench: two lines, and the app shows it live, evaluates it
per epoch against the real-data floor, picks its best checkpoint and browses it in Gallery.

    import ganlib.track

    with ganlib.track.Run("my-dcgan", dataset="mnist", config={"epochs": EPOCHS}) as run:
        for epoch in range(EPOCHS):
            for images in dataset:
                d_loss, g_loss = train_step(images)       # your loop, unchanged
                run.log(step, d_loss=d_loss, g_loss=g_loss)
                if run.should_stop():                     # the app's Pause and Stop (optional)
                    break
            run.checkpoint(epoch + 1, generator=generator, discriminator=discriminator)

``run.checkpoint`` takes a Keras generator (its samples are drawn and stored, its weights kept
so Gallery can draw new ones) or ``samples=``, a uint8 array (N, H, W, C), from any framework.
A ``fit()``-style Keras GAN (keras-io's ``GAN`` with ``generator`` and ``discriminator``
attributes) attaches with ``ganlib.track.KerasCallback(run)``.

``import ganlib.track`` loads no TensorFlow: Keras is imported when a Keras model is handed to
it (or ``KerasCallback`` is first named), so a PyTorch or NumPy writer does not pay 500 MB.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ganlib.track.run import Run, TrackError

if TYPE_CHECKING:
    from ganlib.track.keras_callback import KerasCallback

__all__ = ["KerasCallback", "Run", "TrackError"]


def __getattr__(name: str) -> Any:
    if name == "KerasCallback":  # imports Keras: only when a fit()-style GAN asks for it
        from ganlib.track.keras_callback import KerasCallback

        return KerasCallback
    raise AttributeError(f"module 'ganlib.track' has no attribute {name!r}")
