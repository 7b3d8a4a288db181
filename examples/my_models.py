"""Your own architecture in the workbench's trainer: one decorated function in a file of yours.

    python -m ganlib train --run mine-1 --models-from examples/my_models.py --model small-dcgan

or give the file in the Train form's "Architecture file" field (or GANLIB_MODELS=examples/my_models.py
before `streamlit run app.py`) and pick "small-dcgan" as the Architecture. The trainer calls the
function with the dataset's image shape and the run's settings and trains the pair it returns
with every feature: live page, checkpoints, resume, evaluation, Gallery.
"""

import keras
from keras import layers

import ganlib


@ganlib.architecture(
    "small-dcgan",
    "An example of your own: G Dense -> two stride-2 transposed convolutions; D two stride-2 "
    "convolutions with LeakyReLU (no BatchNorm, so any loss fits, WGAN-GP too).",
)
def small_dcgan(image_shape, latent_dim, num_classes=0, width=1.0, spectral_norm=False):
    height, _, channels = image_shape
    base = height // 4  # two doublings up to the image's size (28 -> 7)
    filters = max(8, int(64 * width))

    latent = keras.Input((latent_dim,), name="latent")
    x = layers.Dense(base * base * filters * 2)(latent)
    x = layers.Reshape((base, base, filters * 2))(x)
    x = layers.ReLU()(x)
    x = layers.Conv2DTranspose(filters, 4, strides=2, padding="same")(x)
    x = layers.ReLU()(x)
    image = layers.Conv2DTranspose(channels, 4, strides=2, padding="same", activation="tanh")(x)
    generator = keras.Model(latent, image, name="generator")

    wrap = layers.SpectralNormalization if spectral_norm else (lambda layer: layer)
    seen = keras.Input(image_shape, name="image")
    y = wrap(layers.Conv2D(filters, 4, strides=2, padding="same"))(seen)
    y = layers.LeakyReLU(0.2)(y)
    y = wrap(layers.Conv2D(filters * 2, 4, strides=2, padding="same"))(y)
    y = layers.LeakyReLU(0.2)(y)
    score = wrap(layers.Dense(1))(layers.Flatten()(y))
    discriminator = keras.Model(seen, score, name="discriminator")
    return generator, discriminator
