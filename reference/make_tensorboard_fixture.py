#!/usr/bin/env python3
"""TensorBoard event files as HF Trainer writes them, for Tests/RunMetricsTests/Fixtures/tensorboard/ (tensorboard==2.20.0).

(a) Writes `reference.tfevents`: a fixed set of metric rows (steps, epochs, wall times, values, including step 0,
    a large step, NaN, ±inf, -0.0 and tiny values) pushed through HF's own path: transformers' `rewrite_logs`
    (TensorBoardCallback.on_log) and torch's `SummaryWriter.add_scalar`, which wraps tensorboard's
    `EventFileWriter` (time, hostname and pid pinned so the bytes are fixed). The same events are also encoded
    directly with `event_pb2` + `RecordWriter` and must give the same bytes. Our TensorBoardWriter must produce
    these bytes exactly (the Swift test sets source_metadata.writer to tensorboard's module name for that).
(b) If `orpo_swift.tfevents` exists (written by our writer with its default settings: run
    `ORPO_UPDATE_FIXTURES=1 swift test --filter LoggingTests` once), reads it back with tensorboard's
    `EventAccumulator` and asserts every scalar (tag, step, wall time, float32 value) and the file version.
Everything, with the versions and the output of (b), goes to `expected.json`.

Usage: .venv-ref/bin/python reference/make_tensorboard_fixture.py
"""
import json
import math
import os
import socket
import struct
import tempfile
import time
from unittest import mock

import numpy as np
import google.protobuf
import tensorboard
import torch
import transformers
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.record_writer import RecordWriter
from torch.utils.tensorboard import SummaryWriter
from transformers.integrations.integration_utils import rewrite_logs

assert tensorboard.__version__ == "2.20.0", tensorboard.__version__

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "RunMetricsTests", "Fixtures", "tensorboard")
START = 1700000000.25  # wall time of the file_version event
HOST, PID = "fixture-host", 4242

# Rows as our trainer logs them: split + plain metric names (TRL's), epoch separate. Steps never go backwards
# (EventAccumulator purges "orphaned" events when a step decreases).
ROWS = [
    {"step": 0, "epoch": 0.0, "split": "eval", "wall_time": 1700000001.5,
     "values": [("loss", 6.8723835945129395), ("rewards/accuracies", 0.625), ("logits/rejected", 7.246284894790733e-06)]},
    {"step": 1, "epoch": 0.1, "split": "train", "wall_time": 1700000002.75,
     "values": [("loss", 6.873169898986816), ("grad_norm", 0.2184268832206726), ("learning_rate", 0.0),
                ("rewards/chosen", -0.6815067529678345), ("logits/rejected", -2.68787844106555e-05)]},
    {"step": 2, "epoch": 0.2, "split": "train", "wall_time": 1700000003.125,
     "values": [("loss", float("nan")), ("grad_norm", float("inf")), ("learning_rate", 5e-05),
                ("rewards/margins", -0.0), ("nll_loss", 1e30)]},
    {"step": 2, "epoch": 0.2, "split": "eval", "wall_time": 1700000004.0,
     "values": [("loss", 0.1), ("rewards/accuracies", 1.0), ("log_odds_ratio", float("-inf"))]},
    {"step": 123456789, "epoch": 3.0, "split": "train", "wall_time": 1700000005.5,
     "values": [("loss", 1.2340000000000002), ("train_runtime", 12.5)]},
]


def hf_logs(row):
    """The dict Trainer.log hands to TensorBoardCallback.on_log: eval metrics carry `eval_`, epoch comes last."""
    prefix = "eval_" if row["split"] == "eval" else ""
    logs = {prefix + name: value for name, value in row["values"]}
    logs["epoch"] = row["epoch"]
    return rewrite_logs(logs)


def write_with_summary_writer(logdir):
    with mock.patch("time.time", return_value=START), mock.patch("socket.gethostname", return_value=HOST), \
            mock.patch("os.getpid", return_value=PID):
        writer = SummaryWriter(log_dir=logdir)
    for row in ROWS:
        for tag, value in hf_logs(row).items():
            writer.add_scalar(tag, value, row["step"], walltime=row["wall_time"])
        writer.flush()
    writer.close()
    (name,) = os.listdir(logdir)
    with open(os.path.join(logdir, name), "rb") as f:
        return name, f.read()


def write_with_event_pb2(path):
    with open(path, "wb") as f:
        records = RecordWriter(f)
        records.write(event_pb2.Event(
            wall_time=START, file_version="brain.Event:2",
            source_metadata=event_pb2.SourceMetadata(writer="tensorboard.summary.writer.event_file_writer"),
        ).SerializeToString())
        for row in ROWS:
            for tag, value in hf_logs(row).items():
                summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)])
                records.write(event_pb2.Event(wall_time=row["wall_time"], step=row["step"], summary=summary)
                              .SerializeToString())
    with open(path, "rb") as f:
        return f.read()


def f32(value):
    return float(np.float32(value))


def same(a, b):
    return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))


def read_back(path):
    """Our writer's file through tensorboard's EventAccumulator: every scalar must be there, in order."""
    lines = []
    accumulator = EventAccumulator(path, size_guidance={"scalars": 0})
    accumulator.Reload()
    expected = {}
    for row in ROWS:
        for tag, value in hf_logs(row).items():
            expected.setdefault(tag, []).append((row["step"], row["wall_time"], f32(value)))
    tags = sorted(accumulator.Tags()["scalars"])
    assert tags == sorted(expected), (tags, sorted(expected))
    count = 0
    for tag in tags:
        events = accumulator.Scalars(tag)
        got = [(e.step, e.wall_time, e.value) for e in events]
        assert len(got) == len(expected[tag]), (tag, got, expected[tag])
        for (step, wall, value), (estep, ewall, evalue) in zip(got, expected[tag]):
            assert step == estep and wall == ewall and same(value, evalue), (tag, step, wall, value, evalue)
        count += len(got)
        lines.append(f"{tag}: " + ", ".join(f"{s}@{w}={v!r}" for s, w, v in got))
    assert accumulator.file_version == 2.0, accumulator.file_version
    lines.insert(0, f"EventAccumulator read {count} scalars in {len(tags)} tags, file_version 2.0: OK")
    return lines


def main():
    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        original_name, summary_writer_bytes = write_with_summary_writer(os.path.join(tmp, "runs"))
        pb2_bytes = write_with_event_pb2(os.path.join(tmp, "pb2.tfevents"))
    assert summary_writer_bytes == pb2_bytes, "SummaryWriter and event_pb2 disagree"
    assert original_name == f"events.out.tfevents.{int(START):010d}.{HOST}.{PID}.0", original_name
    with open(os.path.join(OUT, "reference.tfevents"), "wb") as f:
        f.write(summary_writer_bytes)

    # One TFRecord frame of a known payload, for the framing test.
    payload = b"orpo-swift"
    frame = struct.pack("<Q", len(payload))
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c
    frame += struct.pack("<I", masked_crc32c(frame)) + payload + struct.pack("<I", masked_crc32c(payload))

    ours = os.path.join(OUT, "orpo_swift.tfevents")
    readback = {"file": "orpo_swift.tfevents", "status": "missing", "output": []}
    if os.path.exists(ours):
        readback["output"] = read_back(ours)
        readback["status"] = "ok"
    for line in readback["output"]:
        print(line)

    expected = {
        "about": "TensorBoard event-file fixtures for LoggingTests, from reference/make_tensorboard_fixture.py",
        "versions": {"tensorboard": tensorboard.__version__, "torch": torch.__version__,
                     "transformers": transformers.__version__, "protobuf": google.protobuf.__version__},
        "source_writer": "tensorboard.summary.writer.event_file_writer",
        "hostname": HOST, "pid": PID,
        "file_name": original_name,
        "start_wall_time": repr(START),
        # Numbers as Python repr strings (shortest round trip; JSON has no NaN/Infinity).
        "rows": [{"step": r["step"], "epoch": repr(r["epoch"]), "split": r["split"], "wall_time": repr(r["wall_time"]),
                  "values": [[name, repr(value)] for name, value in r["values"]]} for r in ROWS],
        # What TensorBoardCallback writes, in order: [step, tag, float32 value as repr].
        "scalars": [[r["step"], tag, repr(f32(value))] for r in ROWS for tag, value in hf_logs(r).items()],
        "reference_file": "reference.tfevents",
        "frame": {"payload_hex": payload.hex(), "record_hex": frame.hex()},
        "readback": readback,
    }
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    print(f"wrote {len(summary_writer_bytes)} bytes ({len(expected['scalars'])} scalars); readback: {readback['status']}")


if __name__ == "__main__":
    main()
