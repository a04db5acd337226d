#!/usr/bin/env python3
"""Fixtures for Tests/CurationTests/Fixtures (scikit-learn==1.9.1, statsmodels==0.15.0, numpy==2.4.6, pyarrow==26.0.1).

prompts.parquet: three rows with the columns `orpo curate import` reads (prompt as text or messages, candidates,
model), written by pyarrow, for the Parquet import test.

agreement.json: Cohen's kappa from `sklearn.metrics.cohen_kappa_score` and Fleiss' kappa from
`statsmodels.stats.inter_rater.fleiss_kappa` (method="fleiss", tables built with `aggregate_raters`), on label lists
over the curation choices a / b / tie / both_bad.

Cases: hand-picked edge cases (perfect agreement, total disagreement, labels only one rater uses, one constant
rater) and seeded random ones (raters who mostly agree, and chance raters). `annotations` is one small project: four
annotators over twelve pairs, some pairs answered by three of them; the expected values are sklearn's pairwise
kappas over the pairs each two share and statsmodels' Fleiss over the pairs answered by exactly three.

Usage: python3 -m venv .venv-curate && .venv-curate/bin/pip install -r reference/requirements-curation.txt
       .venv-curate/bin/python reference/make_curation_fixtures.py
"""
import json
import math
import os
import warnings

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import sklearn
import statsmodels
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

CHOICES = ["a", "b", "tie", "both_bad"]
FIXTURES = os.path.join(os.path.dirname(__file__), "..", "Tests", "CurationTests", "Fixtures")
OUT = os.path.join(FIXTURES, "agreement.json")


def number(x):
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def cohen(first, second):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return number(cohen_kappa_score(first, second))


def fleiss(ratings):
    """ratings[item][rater] = label; the table counts labels per item over CHOICES (all four columns kept)."""
    codes = np.array([[CHOICES.index(label) for label in item] for item in ratings])
    table, categories = aggregate_raters(codes, n_cat=len(CHOICES))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return table.astype(int).tolist(), number(fleiss_kappa(table, method="fleiss"))


def noisy_copy(rng, labels, keep):
    return [label if rng.random() < keep else CHOICES[rng.integers(len(CHOICES))] for label in labels]


rng = np.random.default_rng(2024)
cohen_cases = [
    {"name": "perfect", "first": ["a", "b", "tie", "a", "both_bad"], "second": ["a", "b", "tie", "a", "both_bad"]},
    {"name": "opposite", "first": ["a", "b", "a", "b"], "second": ["b", "a", "b", "a"]},
    {"name": "labels only one rater uses", "first": ["a", "a", "b", "tie", "b", "a"],
     "second": ["a", "both_bad", "b", "b", "b", "a"]},
    {"name": "one constant rater", "first": ["a", "a", "a", "a"], "second": ["a", "b", "a", "tie"]},
    {"name": "both constant", "first": ["a", "a", "a"], "second": ["a", "a", "a"]},
]
base = [CHOICES[i] for i in rng.integers(len(CHOICES), size=60)]
cohen_cases.append({"name": "mostly agree (seeded)", "first": base, "second": noisy_copy(rng, base, 0.8)})
cohen_cases.append({"name": "chance (seeded)", "first": [CHOICES[i] for i in rng.integers(len(CHOICES), size=80)],
                    "second": [CHOICES[i] for i in rng.integers(len(CHOICES), size=80)]})
for case in cohen_cases:
    case["kappa"] = cohen(case["first"], case["second"])

fleiss_cases = []
for raters, items, keep in [(3, 10, 0.9), (4, 25, 0.7), (5, 40, 0.3)]:
    truth = [CHOICES[i] for i in rng.integers(len(CHOICES), size=items)]
    ratings = [[label] + noisy_copy(rng, [label] * (raters - 1), keep) for label in truth]
    table, kappa = fleiss(ratings)
    fleiss_cases.append({"name": f"{raters} raters, {items} items (seeded)", "table": table, "kappa": kappa})
table, kappa = fleiss([["a", "a", "a"], ["b", "b", "b"], ["tie", "tie", "tie"]])
fleiss_cases.append({"name": "unanimous", "table": table, "kappa": kappa})

# One project: annotations (pair, annotator, choice); pairs 1-8 answered by ann, bob, cy; 9-12 by ann and dee.
annotations = []
truth = [CHOICES[i] for i in rng.integers(2, size=12)]  # a or b mostly
for pair in range(1, 13):
    people = ["ann", "bob", "cy"] if pair <= 8 else ["ann", "dee"]
    for person in people:
        label = truth[pair - 1] if rng.random() < 0.75 else CHOICES[rng.integers(len(CHOICES))]
        annotations.append({"pair": pair, "annotator": person, "choice": label})
by = {}
for a in annotations:
    by.setdefault(a["annotator"], {})[a["pair"]] = a["choice"]
names = sorted(by)
pairwise = []
for i, first in enumerate(names):
    for second in names[i + 1:]:
        shared = sorted(set(by[first]) & set(by[second]))
        x = [by[first][p] for p in shared]
        y = [by[second][p] for p in shared]
        agreement = sum(u == v for u, v in zip(x, y)) / len(shared) if shared else None
        pairwise.append({"first": first, "second": second, "shared": len(shared), "agreement": agreement,
                         "kappa": cohen(x, y) if shared else None})
three = [[by[n][p] for n in ["ann", "bob", "cy"]] for p in range(1, 9)]
project_table, project_fleiss = fleiss(three)

out = {
    "versions": {"scikit-learn": sklearn.__version__, "statsmodels": statsmodels.__version__, "numpy": np.__version__},
    "choices": CHOICES,
    "cohen": cohen_cases,
    "fleiss": fleiss_cases,
    "project": {"annotations": annotations, "pairwise": pairwise, "fleiss_kappa": project_fleiss, "fleiss_items": 8,
                "fleiss_raters": 3},
}
with open(OUT, "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
print("wrote", os.path.normpath(OUT))

message = pa.struct([("role", pa.string()), ("content", pa.string())])
table = pa.table({
    "prompt": pa.array([[{"role": "user", "content": "What is 2+2?"}],
                        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a colour."}],
                        [{"role": "user", "content": "Say hi."}]], type=pa.list_(message)),
    "candidates": pa.array([["4", "Four."], ["Red.", "Blue.", "Green."], []], type=pa.list_(pa.string())),
    "model": pa.array(["elsewhere", None, "elsewhere"], type=pa.string()),
})
pq.write_table(table, os.path.join(FIXTURES, "prompts.parquet"), compression="snappy")
print("wrote", os.path.normpath(os.path.join(FIXTURES, "prompts.parquet")))
