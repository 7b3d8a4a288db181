"""The trainer scales out with tf.distribute unchanged: two logical CPU replicas under
MirroredStrategy (a subprocess, since devices must be split before TensorFlow starts)."""

import os
import subprocess
import sys
import textwrap

from conftest import ROOT

SCRIPT = textwrap.dedent(
    """
    import sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import numpy as np
    from ganlib import checkpoints
    from ganlib import gan as gan_lib
    from ganlib.config import TrainConfig
    from ganlib.rundir import RunDir
    from ganlib.train import train

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    assert strategy.num_replicas_in_sync == 2
    config = TrainConfig(width=0.25, batch_size=16, epochs=2, steps_per_epoch=3, log_every=1, ema=0.9)
    run = RunDir(sys.argv[1], "mirrored")
    initial = gan_lib.build_gan(config, (28, 28, 1)).discriminator.get_weights()
    with strategy.scope():
        assert train(config, run) == "finished"
    trained, _ = checkpoints.load_models(run)
    moved = [not np.allclose(a, b) for a, b in zip(initial, trained.discriminator.get_weights())]
    assert sum(moved) > len(moved) // 2
    assert all(np.isfinite(r["d_loss"]) for r in run.history())
    print("MIRRORED OK", run.epochs())
    """
)


def test_training_under_mirrored_strategy(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "GANLIB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "MIRRORED OK [1, 2]" in done.stdout, done.stdout + done.stderr[-3000:]
