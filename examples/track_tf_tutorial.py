"""TensorFlow's DCGAN tutorial (tensorflow.org/tutorials/generative/dcgan), its own models and
``train_step`` with ``tf.GradientTape``, attached to the workbench. Every line the attachment
adds or changes is marked ``# ganlib.track``; the rest is the tutorial as written.

    python -m examples.track_tf_tutorial                 # the tutorial's 50 epochs
    python -m examples.track_tf_tutorial --epochs 2 --steps 50

Then `streamlit run app.py`: Train shows the run live (under "Training elsewhere", with Pause
and Stop), Evaluate computes its FID per epoch against the real-data floor, Gallery browses it.
"""

import argparse
import time

import tensorflow as tf
from tensorflow.keras import layers

import ganlib.track  # ganlib.track
from ganlib.data import datasets  # ganlib.track: MNIST from this machine, where the tutorial downloads it

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=50)
parser.add_argument("--steps", type=int, default=None, help="batches per epoch (default: all)")
parser.add_argument("--runs-dir", default=None, help="default: the app's (GANLIB_RUNS_DIR or ./checkpoints)")
parser.add_argument("--name", default="tf-dcgan-tutorial")
parser.add_argument("--samples", type=int, default=10_000, help="samples stored per checkpoint")
given = parser.parse_args()

# (train_images, train_labels), (_, _) = tf.keras.datasets.mnist.load_data()
train_images = datasets.load_dataset("mnist", "train").images  # ganlib.track: (60000, 28, 28, 1) uint8
train_images = train_images.reshape(train_images.shape[0], 28, 28, 1).astype("float32")
train_images = (train_images - 127.5) / 127.5  # Normalize the images to [-1, 1]

BUFFER_SIZE = 60000
BATCH_SIZE = 256
train_dataset = tf.data.Dataset.from_tensor_slices(train_images).shuffle(BUFFER_SIZE).batch(BATCH_SIZE)
if given.steps:
    train_dataset = train_dataset.take(given.steps)


def make_generator_model():
    model = tf.keras.Sequential()
    model.add(layers.Input((100,)))
    model.add(layers.Dense(7 * 7 * 256, use_bias=False))
    model.add(layers.BatchNormalization())
    model.add(layers.LeakyReLU())

    model.add(layers.Reshape((7, 7, 256)))
    assert model.output_shape == (None, 7, 7, 256)  # Note: None is the batch size

    model.add(layers.Conv2DTranspose(128, (5, 5), strides=(1, 1), padding="same", use_bias=False))
    assert model.output_shape == (None, 7, 7, 128)
    model.add(layers.BatchNormalization())
    model.add(layers.LeakyReLU())

    model.add(layers.Conv2DTranspose(64, (5, 5), strides=(2, 2), padding="same", use_bias=False))
    assert model.output_shape == (None, 14, 14, 64)
    model.add(layers.BatchNormalization())
    model.add(layers.LeakyReLU())

    model.add(
        layers.Conv2DTranspose(1, (5, 5), strides=(2, 2), padding="same", use_bias=False, activation="tanh")
    )
    assert model.output_shape == (None, 28, 28, 1)

    return model


def make_discriminator_model():
    model = tf.keras.Sequential()
    model.add(layers.Input((28, 28, 1)))
    model.add(layers.Conv2D(64, (5, 5), strides=(2, 2), padding="same"))
    model.add(layers.LeakyReLU())
    model.add(layers.Dropout(0.3))

    model.add(layers.Conv2D(128, (5, 5), strides=(2, 2), padding="same"))
    model.add(layers.LeakyReLU())
    model.add(layers.Dropout(0.3))

    model.add(layers.Flatten())
    model.add(layers.Dense(1))

    return model


generator = make_generator_model()
discriminator = make_discriminator_model()

# This method returns a helper function to compute cross entropy loss
cross_entropy = tf.keras.losses.BinaryCrossentropy(from_logits=True)


def discriminator_loss(real_output, fake_output):
    real_loss = cross_entropy(tf.ones_like(real_output), real_output)
    fake_loss = cross_entropy(tf.zeros_like(fake_output), fake_output)
    total_loss = real_loss + fake_loss
    return total_loss


def generator_loss(fake_output):
    return cross_entropy(tf.ones_like(fake_output), fake_output)


generator_optimizer = tf.keras.optimizers.Adam(1e-4)
discriminator_optimizer = tf.keras.optimizers.Adam(1e-4)

EPOCHS = given.epochs
noise_dim = 100


# Notice the use of `tf.function`
# This annotation causes the function to be "compiled".
@tf.function
def train_step(images):
    noise = tf.random.normal([BATCH_SIZE, noise_dim])

    with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
        generated_images = generator(noise, training=True)

        real_output = discriminator(images, training=True)
        fake_output = discriminator(generated_images, training=True)

        gen_loss = generator_loss(fake_output)
        disc_loss = discriminator_loss(real_output, fake_output)

    gradients_of_generator = gen_tape.gradient(gen_loss, generator.trainable_variables)
    gradients_of_discriminator = disc_tape.gradient(disc_loss, discriminator.trainable_variables)

    generator_optimizer.apply_gradients(zip(gradients_of_generator, generator.trainable_variables))
    discriminator_optimizer.apply_gradients(
        zip(gradients_of_discriminator, discriminator.trainable_variables)
    )
    return gen_loss, disc_loss  # ganlib.track


def train(dataset, epochs, run):  # ganlib.track: run
    step = 0  # ganlib.track
    for epoch in range(epochs):
        start = time.time()

        for image_batch in dataset:
            gen_loss, disc_loss = train_step(image_batch)  # ganlib.track
            step += 1  # ganlib.track
            run.log(step, d_loss=disc_loss, g_loss=gen_loss)  # ganlib.track
            if run.should_stop():  # ganlib.track: the app's Pause and Stop
                return  # ganlib.track

        # The tutorial draws a PNG here; the run keeps a grid, samples for FID and D's accuracy.
        run.checkpoint(epoch + 1, generator=generator, discriminator=discriminator)  # ganlib.track

        print("Time for epoch {} is {} sec".format(epoch + 1, time.time() - start))  # noqa: UP032 (as written)


config = {
    "epochs": EPOCHS,
    "batch_size": BATCH_SIZE,
    "lr": 1e-4,
    "model": "tf-tutorial-dcgan",
    "loss": "bce",
}  # ganlib.track
with ganlib.track.Run(
    given.name, dataset="mnist", config=config, runs_dir=given.runs_dir, samples=given.samples
) as run:  # ganlib.track
    train(train_dataset, EPOCHS, run)  # ganlib.track: run
