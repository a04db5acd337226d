# make_mlflow_fixtures.py — writes a run with MLflow's own FileStore (the `mlruns/` folder `mlflow ui` reads) and
# dumps every file of it, ids and creation times replaced by placeholders, for RunMetricsTests' MLflowTests.
# Pins: reference/requirements-mlflow.txt (mlflow-skinny 3.18.0). Deterministic: rerunning writes the same bytes.
import json
import os
import re
import shutil
import sys
import tempfile

os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"  # 3.x keeps the file store behind this switch

import mlflow  # noqa: E402
from mlflow.entities import Metric, Param, RunStatus, RunTag  # noqa: E402
from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository  # noqa: E402
from mlflow.store.tracking.file_store import FileStore  # noqa: E402

assert mlflow.__version__ == "3.18.0", mlflow.__version__
OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "RunMetricsTests", "Fixtures", "mlflow")

# What the Swift test writes too (MLflowTests.swift: `fixtureRun`).
START, END = 1_700_000_000_000, 1_700_000_060_000
PARAMS = [("learning_rate", "5e-06"), ("lora.r", "16"), ("report_to", "[jsonl, mlflow]"),
          ("output_dir", "runs/my run: 1"), ("chat_template", "")]
TAGS = [("mlflow.runName", "orpo-fixture"), ("mlflow.user", "tester"), ("mlflow.source.name", "orpo"),
        ("mlflow.source.type", "LOCAL"), ("orpo.method", "orpo")]
# (key, value, step, timestamp): TRL's names with slashes become folders; NaN and infinities as Python spells them.
METRICS = [("loss", 1.25, 1, START + 1000), ("rewards/chosen", -0.5, 1, START + 1000), ("epoch", 0.5, 1, START + 1000),
           ("loss", 0.875, 2, START + 2000), ("rewards/chosen", float("nan"), 2, START + 2000),
           ("eval_loss", 0.1 + 0.2, 2, START + 2500), ("grad_norm", float("inf"), 2, START + 2000)]
ARTIFACT = ("summary.json", '{"steps": 2}\n')


def write(root, experiment_name):
    store = FileStore(root)  # creates 0/ (Default) and .trash/
    experiment_id = "0"
    if experiment_name != "Default":
        experiment_id = store.create_experiment(experiment_name)
    tags = [RunTag(k, v) for k, v in TAGS]
    run = store.create_run(experiment_id, user_id="tester", start_time=START, tags=tags, run_name="orpo-fixture")
    run_id = run.info.run_id
    for key, value in PARAMS:
        store.log_param(run_id, Param(key, value))
    for key, value, step, timestamp in METRICS:
        store.log_metric(run_id, Metric(key, value, timestamp, step))
    scratch = tempfile.mkdtemp()
    path = os.path.join(scratch, ARTIFACT[0])
    with open(path, "w") as f:
        f.write(ARTIFACT[1])
    LocalArtifactRepository(run.info.artifact_uri).log_artifact(path)
    shutil.rmtree(scratch)
    store.update_run_info(run_id, RunStatus.FINISHED, END, "orpo-fixture")
    # Read back through the store: what `mlflow ui` would show.
    got = store.get_run(run_id)
    history = {k: [(m.step, m.value, m.timestamp) for m in store.get_metric_history(run_id, k)]
               for k in sorted({m[0] for m in METRICS})}
    return experiment_id, run_id, got, history


def tree(root, replacements):
    files = {}
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        rel = os.path.relpath(folder, root)
        if not names and not dirs:
            files[normalize(rel + "/", replacements)] = None  # an empty folder
        for name in sorted(names):
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                text = f.read()
            files[normalize(os.path.join(rel, name), replacements)] = normalize(text, replacements)
    return dict(sorted(files.items()))


def normalize(text, replacements):
    for old, new in replacements:
        text = text.replace(old, new)
    # creation_time / last_update_time of experiments: the store's clock, not ours to pass.
    return re.sub(r"(creation_time|last_update_time): \d+", r"\1: <time>", text)


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = {}
    for label, experiment_name in [("default", "Default"), ("named", "orpo experiment")]:
        scratch = tempfile.mkdtemp()
        root = os.path.join(scratch, "mlruns")
        experiment_id, run_id, run, history = write(root, experiment_name)
        replacements = [(run_id, "<run_id>"), ("file://" + root, "<root_uri>"), (root, "<root>")]
        if experiment_id != "0":
            replacements.append((experiment_id, "<experiment_id>"))
        cases[label] = {
            "experiment_name": experiment_name,
            "files": tree(root, replacements),
            "read_back": {
                "status": run.info.status, "run_name": run.info.run_name, "start_time": run.info.start_time,
                "end_time": run.info.end_time, "params": dict(sorted(run.data.params.items())),
                "tags": dict(sorted(run.data.tags.items())),
                "metrics_history": {k: [[s, repr(v), t] for s, v, t in h] for k, h in history.items()},
            },
        }
        shutil.rmtree(scratch)
    cases["versions"] = {"mlflow-skinny": mlflow.__version__, "python": sys.version.split()[0]}
    with open(os.path.join(OUT, "filestore.json"), "w") as f:
        json.dump(cases, f, indent=1, sort_keys=True, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
