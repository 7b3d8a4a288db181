"""Throughput under tf.distribute on this machine: images/s of the same training with one device,
two logical devices (MirroredStrategy) and two workers on localhost (MultiWorkerMirroredStrategy).

    python -m benchmarks.distribute --steps 300

On a CPU-only machine every setting shares the same cores, so scaling is expected to be flat or
worse (two replicas add an all-reduce per step, two workers add gRPC and a second process); the
point of the multi-device code is correctness (tests/test_distribute.py) and GPUs or hosts. The
figures are the trainer's own: steps between the end of the first epoch (tracing and warm-up
excluded) and the end of the run, over the seconds in between (history.jsonl "elapsed").
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from ganlib.runs.rundir import RunDir

ROOT = Path(__file__).resolve().parents[1]

# One process with its CPU split into DEVICES logical devices, training as the CLI would.
IN_PROCESS = textwrap.dedent(
    """
    import sys
    import tensorflow as tf
    devices, runs_dir, name, preset = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    steps, per_execution = int(sys.argv[5]), int(sys.argv[6])
    strategy = None
    if devices > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * devices)
        strategy = tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(devices)])
    from ganlib.config import PRESETS
    from ganlib.runs.rundir import RunDir
    from ganlib.training.train import train
    config = PRESETS[preset].replace(epochs=2, steps_per_epoch=steps, live_fid_samples=0, log_every=50,
                                     steps_per_execution=per_execution or PRESETS[preset].steps_per_execution)
    train(config, RunDir(runs_dir, name), strategy=strategy)
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def images_per_second(run: RunDir) -> float:
    rows = run.history()
    steps_per_epoch = run.config().steps_per_epoch
    first = next(row for row in rows if row.step >= steps_per_epoch)
    last = rows[-1]
    batch = run.config().batch_size * run.config().critic_steps()
    return (last.step - first.step) * batch / (last.elapsed - first.elapsed)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=300, help="steps per epoch; two epochs are run")
    parser.add_argument("--preset", default="quick-start")
    args = parser.parse_args()
    runs_dir = Path(tempfile.mkdtemp(prefix="distribute-bench-"))
    try:
        measure(args, runs_dir)
    finally:
        shutil.rmtree(runs_dir, ignore_errors=True)


def measure(args: argparse.Namespace, runs_dir: Path) -> None:
    env = {**os.environ, "GANLIB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    results = []
    # Several replicas run one step per call (train.py), so one device is measured both ways.
    settings = (
        ("1 device", 1, 0),
        ("1 device, 1 step per call", 1, 1),
        ("2 logical devices, mirrored", 2, 1),
    )
    for label, devices, per_execution in settings:
        name = f"devices-{devices}-{per_execution}"
        command = [
            sys.executable,
            "-c",
            IN_PROCESS,
            str(devices),
            str(runs_dir),
            name,
            args.preset,
            str(args.steps),
        ]
        subprocess.run([*command, str(per_execution)], cwd=ROOT, env=env, check=True, capture_output=True)
        results.append(
            {"setting": label, "images_per_s": round(images_per_second(RunDir(runs_dir, name)), 1)}
        )
        print(json.dumps(results[-1]), flush=True)

    flags = ["--runs-dir", str(runs_dir), "--preset", args.preset, "--epochs", "2"]
    flags += ["--steps-per-epoch", str(args.steps), "--live-fid-samples", "0", "--log-every", "50"]
    cluster = {"worker": [f"127.0.0.1:{_free_port()}" for _ in range(2)]}
    workers = []
    for index in range(2):
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        command = [
            sys.executable,
            "-m",
            "ganlib",
            "train",
            "--run",
            "workers-2",
            "--strategy",
            "multiworker",
            *flags,
        ]
        workers.append(
            subprocess.Popen(
                command, cwd=ROOT, env={**env, "TF_CONFIG": tf_config}, stdout=subprocess.DEVNULL
            )
        )
    if any(worker.wait() for worker in workers):
        raise SystemExit("a worker failed")
    results.append(
        {
            "setting": "2 workers, localhost",
            "images_per_s": round(images_per_second(RunDir(runs_dir, "workers-2")), 1),
        }
    )
    print(json.dumps(results[-1]), flush=True)
    base = results[0]["images_per_s"]
    print(
        json.dumps(
            {"relative_to_one_device": {r["setting"]: round(r["images_per_s"] / base, 2) for r in results}}
        )
    )


if __name__ == "__main__":
    main()
