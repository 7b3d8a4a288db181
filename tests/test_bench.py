"""The benchmark runs end to end (tiny), and its baseline really trains both networks.

No wall-clock assertion: speeds are for `python -m ganlib bench` to print, not for tests to judge.
"""

import keras

from ganlib import bench


def test_bench_runs_every_contender_and_the_baseline_trains_d():
    lines = []
    results = bench.run(model="mlp", batch_size=32, seconds=0.5, width=0.125, print_fn=lines.append)
    assert [r.name.split(":")[0] for r in results] == [
        "ours",
        "ours",
        "tutorials",
        "minimal tf.function step",
    ]
    assert all(r.images_per_sec > 0 for r in results)
    assert results[2].note == "D learned"  # the Keras 3 trainable trap is avoided
    assert any("utilisation" in line for line in lines)


def test_forward_flops_counts_dense_and_convolutions():
    dense = keras.Sequential([keras.Input((10,)), keras.layers.Dense(5)])
    assert bench.forward_flops(dense) == 2 * 10 * 5
    conv = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, strides=2, padding="same")])
    assert bench.forward_flops(conv) == 2 * 4 * 4 * 4 * 3 * 3 * 3
    up = keras.Sequential(
        [keras.Input((4, 4, 2)), keras.layers.Conv2DTranspose(3, 5, strides=2, padding="same")]
    )
    assert bench.forward_flops(up) == 2 * 4 * 4 * 2 * 5 * 5 * 3
