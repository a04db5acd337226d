#!/usr/bin/env python3
"""Parquet files written by pyarrow (and by Hugging Face datasets), plus what pyarrow reads back, for the Swift
Parquet reader and the Data readers (pyarrow==26.0.1, datasets==5.2.0, numpy==2.4.6; Python 3.11).

Tests/ParquetTests/Fixtures/
  ultrafeedback-*.parquet  the same 36 UltraFeedback-shaped rows (prompt, prompt_id, chosen/rejected/messages as
                           list<struct<content, role>>, score_chosen/score_rejected) written five ways: every
                           compression (none, snappy, gzip, zstd), data pages v1 and v2, dictionary and plain, a
                           dictionary that overflows into plain pages mid-chunk, small pages, 3 row groups
  ultrafeedback.expected.jsonl   the rows as pyarrow's `to_pylist()` gives them, typed (see `tagged`)
  types*.parquet / types.expected.jsonl   every physical type, nulls at every level, nested lists, structs, maps,
                           booleans (RLE-encoded in v2 pages), written as v1/snappy, v2/zstd and plain/gzip
  unsupported-*.parquet    LZ4 pages and DELTA_BYTE_ARRAY values, which the reader refuses by name
  manifest.json            versions, and per file: codec, page versions, encodings and row groups per column as
                           pyarrow's metadata reports them (so the tests can check the fixtures cover what they claim)
Tests/DataTests/Fixtures/
  ultrafeedback/           a Hub dataset folder as `huggingface-cli download --repo-type dataset` leaves it:
                           data/{train_prefs,test_prefs}-00000-of-00001.parquet written by datasets' to_parquet
                           (content-defined chunking, page index), and its README.md
  ultrafeedback-train_prefs.jsonl  the train_prefs rows as JSON Lines
  orpo-dpo-mix/            data/train-0000{0,1}-of-00002.parquet (orpo-dpo-mix-40k's shape: source, chosen, rejected)
  orpo-dpo-mix.jsonl       its rows, in file order
  plain.parquet / plain.jsonl   prompt/chosen/rejected as strings, with a row whose chosen is null
  selection.json           datasets' `shuffle(seed).select(range(n))` and `train_test_split(test_size, seed)`
                           indices, and numpy PCG64 raw outputs for the same seeds
  data_files.json          for a set of folder layouts, the split → files mapping datasets resolves
                           (`get_data_patterns` + `DataFilesDict.from_patterns`)
Tests/TrainingTests/Fixtures/orpo/data.parquet   the TRL parity run's data.jsonl rows (make_orpo_fixtures.py) as
                           Parquet (zstd, v2 pages, 3 row groups): training from either must give the same numbers

Usage: python3 -m venv .venv-parquet && .venv-parquet/bin/pip install -r reference/requirements-parquet.txt
       .venv-parquet/bin/python reference/make_parquet_fixtures.py
"""
import json
import os
import random
import shutil
import sys
import tempfile

os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="hf-home-")  # keep load_dataset's cache out of the user's
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import datasets

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PARQUET_DIR = os.path.join(ROOT, "Tests", "ParquetTests", "Fixtures")
DATA_DIR = os.path.join(ROOT, "Tests", "DataTests", "Fixtures")
VERSIONS = {"pyarrow": pa.__version__, "datasets": datasets.__version__, "numpy": np.__version__,
            "python": sys.version.split()[0]}
assert VERSIONS["pyarrow"] == "26.0.1" and VERSIONS["datasets"] == "5.2.0" and VERSIONS["numpy"] == "2.4.6", VERSIONS

WORDS = ("the a river stone light quiet answer question garden number seven blue fast slow carefully because "
         "however window market orbit signal ocean paper simple bright heavy north ancient modern idea proof "
         "café naïve 東京 données ümlaut emoji🙂 ").split()


def sentence(rng, n_min=3, n_max=14):
    words = [rng.choice(WORDS) for _ in range(rng.randint(n_min, n_max))]
    return " ".join(words).capitalize() + rng.choice([".", "?", "!", "."])


def ultrafeedback_rows(rng, count, id_prefix):
    """Rows in HuggingFaceH4/ultrafeedback_binarized's shape (multi-turn and system turns in some)."""
    rows = []
    for i in range(count):
        prompt = sentence(rng)
        history = []
        if i % 7 == 3:
            history = [{"content": sentence(rng), "role": "system"}]
        if i % 5 == 2:
            history += [{"content": sentence(rng), "role": "user"}, {"content": sentence(rng), "role": "assistant"}]
        turns = history + [{"content": prompt, "role": "user"}]
        chosen = turns + [{"content": " ".join(sentence(rng) for _ in range(rng.randint(1, 3))), "role": "assistant"}]
        rejected = turns + [{"content": " ".join(sentence(rng) for _ in range(rng.randint(1, 3))), "role": "assistant"}]
        rows.append({
            "prompt": prompt,
            "prompt_id": f"{id_prefix}{i:04d}" + "%08x" % rng.getrandbits(32),
            "chosen": chosen,
            "rejected": rejected,
            "messages": chosen,
            "score_chosen": float(rng.randint(10, 100)) / 10,
            "score_rejected": float(rng.randint(0, 90)) / 10,
        })
    return rows


MESSAGE = pa.struct([("content", pa.string()), ("role", pa.string())])
ULTRAFEEDBACK_SCHEMA = pa.schema([
    ("prompt", pa.string()), ("prompt_id", pa.string()), ("chosen", pa.list_(MESSAGE)),
    ("rejected", pa.list_(MESSAGE)), ("messages", pa.list_(MESSAGE)), ("score_chosen", pa.float64()),
    ("score_rejected", pa.float64()),
])


def types_table():
    """Every physical type, nulls at every nesting level, nested lists, structs and a map."""
    point = pa.struct([("x", pa.int32()), ("label", pa.string())])
    schema = pa.schema([
        ("i32", pa.int32()), ("i64", pa.int64()), ("f32", pa.float32()), ("f64", pa.float64()),
        ("flag", pa.bool_()), ("text", pa.string()), ("blob", pa.binary()), ("fixed", pa.binary(3)),
        ("i8", pa.int8()), ("u16", pa.uint16()), ("u32", pa.uint32()), ("day", pa.date32()),
        pa.field("required_text", pa.string(), nullable=False),
        ("ints", pa.list_(pa.int64())), ("nested", pa.list_(pa.list_(pa.int32()))),
        ("point", point), ("points", pa.list_(point)), ("tags", pa.map_(pa.string(), pa.int32())),
        ("flags", pa.list_(pa.bool_())),
    ])
    rng = random.Random(7)
    rows = []
    for i in range(30):
        def maybe(value, every=4, offset=0):
            return None if (i + offset) % every == 0 else value
        rows.append({
            "i32": maybe(rng.randint(-2**31, 2**31 - 1)),
            "i64": maybe(rng.randint(-2**63, 2**63 - 1), 5, 1),
            "f32": maybe(float(np.float32(rng.uniform(-1e6, 1e6))), 6, 2),
            "f64": maybe(rng.uniform(-1e300, 1e300) if i % 3 else rng.uniform(-1, 1), 7, 3),
            "flag": maybe(rng.random() < 0.5, 3, 1),
            "text": maybe(sentence(rng, 0, 6) if i % 9 else "", 4, 2),
            "blob": maybe(bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 6))), 5),
            "fixed": maybe(bytes(rng.getrandbits(8) for _ in range(3)), 6),
            "i8": maybe(rng.randint(-128, 127), 4, 3),
            "u16": maybe(rng.randint(0, 65535), 5, 4),
            "u32": maybe(rng.randint(0, 2**32 - 1), 6, 5),
            "day": maybe(rng.randint(-1000, 30000), 7),
            "required_text": f"row {i}",
            "ints": None if i % 5 == 0 else [None if j % 4 == 3 else rng.randint(-9, 9) for j in range(i % 6)],
            "nested": None if i % 6 == 1 else [
                None if k % 3 == 2 else [None if j == 1 else rng.randint(0, 99) for j in range(k % 3)]
                for k in range(i % 4)],
            "point": None if i % 4 == 1 else {"x": None if i % 3 == 0 else i, "label": None if i % 5 == 0 else f"p{i}"},
            "points": None if i % 7 == 0 else [
                None if j % 5 == 4 else {"x": j, "label": None if j % 2 else sentence(rng, 1, 2)} for j in range(i % 5)],
            "tags": None if i % 8 == 5 else [(f"k{j}", None if j == 2 else j * i) for j in range(i % 4)],
            "flags": None if i % 9 == 4 else [rng.random() < 0.3 for _ in range(i % 11)],
        })
    return pa.Table.from_pylist(rows, schema=schema)


def tagged(value, field=None):
    """pyarrow's Python value in a typed form the Swift test compares without guessing at JSON numbers:
    null, {"b": bool}, {"i": "int"}, {"f": "float.hex()"}, {"s": str}, {"x": "hex bytes"}, [list], {"r": [[name,
    value], ...]} for structs and rows (schema order), {"m": [[key, value], ...]} for maps; dates are day numbers."""
    import datetime
    if value is None:
        return None
    if isinstance(field, pa.MapType):
        return {"m": [[tagged(k, field.key_type), tagged(v, field.item_type)] for k, v in value]}
    if isinstance(field, (pa.ListType, pa.LargeListType)):
        return [tagged(v, field.value_type) for v in value]
    if isinstance(field, pa.StructType):
        return {"r": [[f.name, tagged(value[f.name], f.type)] for f in field]}
    if isinstance(value, bool):
        return {"b": value}
    if isinstance(value, int):
        return {"i": str(value)}
    if isinstance(value, float):
        return {"f": value.hex()}
    if isinstance(value, str):
        return {"s": value}
    if isinstance(value, bytes):
        return {"x": value.hex()}
    if isinstance(value, datetime.date):
        return {"i": str((value - datetime.date(1970, 1, 1)).days)}
    raise TypeError(type(value))


def write_expected(path, table):
    with open(path, "w", encoding="utf-8") as f:
        for row in table.to_pylist():
            f.write(json.dumps(tagged(row, pa.struct(list(table.schema))), ensure_ascii=False) + "\n")


def describe(path):
    """What pyarrow says the file holds: row groups, and per column the codec, encodings and dictionary pages."""
    meta = pq.ParquetFile(path).metadata
    columns = {}
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        for c in range(group.num_columns):
            col = group.column(c)
            entry = columns.setdefault(col.path_in_schema, {"codec": col.compression, "encodings": set(),
                                                              "dictionary_page": []})
            entry["encodings"].update(col.encodings)
            entry["dictionary_page"].append(col.has_dictionary_page)
    for entry in columns.values():
        entry["encodings"] = sorted(entry["encodings"])
    return {"rows": meta.num_rows, "row_groups": [meta.row_group(g).num_rows for g in range(meta.num_row_groups)],
            "created_by": meta.created_by, "columns": columns}


def make_parquet_fixtures(manifest):
    os.makedirs(PARQUET_DIR, exist_ok=True)
    rng = random.Random(2024)
    table = pa.Table.from_pylist(ultrafeedback_rows(rng, 36, "uf"), schema=ULTRAFEEDBACK_SCHEMA)
    write_expected(os.path.join(PARQUET_DIR, "ultrafeedback.expected.jsonl"), table)
    variants = {
        "ultrafeedback-snappy-v1.parquet": dict(compression="snappy"),  # pyarrow's defaults
        "ultrafeedback-none-v1-plain.parquet": dict(compression="none", use_dictionary=False),
        "ultrafeedback-gzip-v2-plain.parquet": dict(compression="gzip", data_page_version="2.0", use_dictionary=False),
        "ultrafeedback-zstd-v2.parquet": dict(compression="zstd", data_page_version="2.0", write_page_checksum=True),
        "ultrafeedback-zstd-v1-fallback.parquet": dict(compression="zstd", dictionary_pagesize_limit=256,
                                                       data_page_size=300, write_batch_size=5),
    }
    for name, options in variants.items():
        path = os.path.join(PARQUET_DIR, name)
        pq.write_table(table, path, row_group_size=16, **options)
        assert pq.read_table(path).equals(table), name
        manifest["files"][name] = describe(path)

    types = types_table()
    write_expected(os.path.join(PARQUET_DIR, "types.expected.jsonl"), types)
    for name, options in {"types.parquet": dict(compression="snappy"),
                          "types-v2-zstd.parquet": dict(compression="zstd", data_page_version="2.0"),
                          "types-plain-gzip.parquet": dict(compression="gzip", use_dictionary=False)}.items():
        path = os.path.join(PARQUET_DIR, name)
        pq.write_table(types, path, row_group_size=12, **options)
        assert pq.read_table(path).equals(types), name
        manifest["files"][name] = describe(path)

    # What the reader refuses, by name: LZ4 pages, DELTA_BYTE_ARRAY values.
    small = pa.table({"text": ["one", "two", "three"], "n": [1, 2, 3]})
    pq.write_table(small, os.path.join(PARQUET_DIR, "unsupported-lz4.parquet"), compression="lz4")
    pq.write_table(small, os.path.join(PARQUET_DIR, "unsupported-delta.parquet"), use_dictionary=False,
                   column_encoding={"text": "DELTA_BYTE_ARRAY"})
    for name in ["unsupported-lz4.parquet", "unsupported-delta.parquet"]:
        manifest["files"][name] = describe(os.path.join(PARQUET_DIR, name))


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def make_data_fixtures(manifest):
    os.makedirs(DATA_DIR, exist_ok=True)
    rng = random.Random(99)
    # A Hub dataset folder, as datasets' push_to_hub / to_parquet writes it.
    folder = os.path.join(DATA_DIR, "ultrafeedback")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(os.path.join(folder, "data"))
    splits = {"train_prefs": ultrafeedback_rows(rng, 40, "tr"), "test_prefs": ultrafeedback_rows(rng, 12, "te")}
    for split, rows in splits.items():
        ds = datasets.Dataset.from_list(rows, features=datasets.Features.from_arrow_schema(ULTRAFEEDBACK_SCHEMA))
        path = os.path.join(folder, "data", f"{split}-00000-of-00001.parquet")
        ds.to_parquet(path)
        manifest["files"][f"ultrafeedback/data/{split}-00000-of-00001.parquet"] = describe(path)
    with open(os.path.join(folder, "README.md"), "w") as f:
        f.write("---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train_prefs\n"
                "    path: data/train_prefs-*\n  - split: test_prefs\n    path: data/test_prefs-*\n---\n"
                "# A small UltraFeedback-shaped set for the tests (made by reference/make_parquet_fixtures.py)\n")
    write_jsonl(os.path.join(DATA_DIR, "ultrafeedback-train_prefs.jsonl"), splits["train_prefs"])
    loaded = datasets.load_dataset(folder, split="train_prefs")
    assert loaded.to_list() == splits["train_prefs"]

    # orpo-dpo-mix-40k's shape: whole conversations, no prompt column; two shards.
    folder = os.path.join(DATA_DIR, "orpo-dpo-mix")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(os.path.join(folder, "data"))
    mix = []
    for row in ultrafeedback_rows(rng, 30, "mx"):
        mix.append({"source": rng.choice(["capybara", "truthy", "toxic-dpo"]), "chosen": row["chosen"],
                    "rejected": row["rejected"]})
    mix_schema = pa.schema([("source", pa.string()), ("chosen", pa.list_(MESSAGE)), ("rejected", pa.list_(MESSAGE))])
    for shard, part in enumerate([mix[:17], mix[17:]]):
        path = os.path.join(folder, "data", f"train-{shard:05d}-of-00002.parquet")
        datasets.Dataset(pa.Table.from_pylist(part, schema=mix_schema)).to_parquet(path)
    write_jsonl(os.path.join(DATA_DIR, "orpo-dpo-mix.jsonl"), mix)
    assert datasets.load_dataset(folder, split="train").to_list() == mix

    # Plain strings, one row with a null chosen (an error on both sides).
    plain = [{"prompt": sentence(rng), "chosen": " " + sentence(rng), "rejected": " " + sentence(rng),
              "score": i * 0.5} for i in range(20)]
    plain_null = dict(plain[0], chosen=None)
    pq.write_table(pa.Table.from_pylist(plain), os.path.join(DATA_DIR, "plain.parquet"), row_group_size=8,
                   compression="zstd")
    write_jsonl(os.path.join(DATA_DIR, "plain.jsonl"), plain)
    pq.write_table(pa.Table.from_pylist(plain[:3] + [plain_null]), os.path.join(DATA_DIR, "plain-null.parquet"))
    write_jsonl(os.path.join(DATA_DIR, "plain-null.jsonl"), plain[:3] + [plain_null])


def make_training_fixture():
    folder = os.path.join(ROOT, "Tests", "TrainingTests", "Fixtures", "orpo")
    with open(os.path.join(folder, "data.jsonl"), encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    pq.write_table(pa.Table.from_pylist(rows), os.path.join(folder, "data.parquet"), compression="zstd",
                   data_page_version="2.0", row_group_size=16)


def make_selection_fixture(manifest):
    """Indices datasets picks, on a dataset whose only column is its row index."""
    out = {"versions": VERSIONS, "shuffle": [], "train_test_split": [], "pcg64": []}
    for seed in [0, 1, 42, 1234, 2**32 + 5, 2**70 + 3]:
        g = np.random.default_rng(seed)
        out["pcg64"].append({"seed": seed, "uint64": [str(int(x)) for x in g.integers(0, 2**64, size=6,
                                                                                       dtype=np.uint64)]})
    for n, seed, select in [(1, 42, 1), (2, 42, 2), (10, 42, 10), (100, 0, 100), (1000, 42, 1000),
                            (61135, 42, 1000), (44245, 1234, 300), (5, 2**40 + 1, 5), (300, 7, 17)]:
        ds = datasets.Dataset.from_dict({"i": list(range(n))})
        picked = list(ds.shuffle(seed=seed).select(range(select))["i"])
        out["shuffle"].append({"n": n, "seed": seed, "select": select, "indices": picked})
    for n, test_size, seed in [(10, 0.2, 42), (10, 3, 123), (100, 0.01, 42), (1000, 0.02, 42), (61135, 0.02, 42),
                               (1000, 0.1, 0), (7, 0.5, 99), (44245, 0.01, 42), (200, 50, 3)]:
        ds = datasets.Dataset.from_dict({"i": list(range(n))})
        split = ds.train_test_split(test_size=test_size, seed=seed)
        train, test = list(split["train"]["i"]), list(split["test"]["i"])
        entry = {"n": n, "test_size": test_size, "seed": seed, "test": test, "train_count": len(train),
                 "train_head": train[:40], "train_tail": train[-10:],
                 "train_weighted_sum": sum((k + 1) * v for k, v in enumerate(train))}
        out["train_test_split"].append(entry)
    with open(os.path.join(DATA_DIR, "selection.json"), "w") as f:
        json.dump(out, f, separators=(",", ":"))


LAYOUTS = {
    "hub-sharded": ["README.md", "data/train_prefs-00000-of-00001.parquet", "data/test_prefs-00000-of-00001.parquet",
                    "data/train_sft-00000-of-00002.parquet", "data/train_sft-00001-of-00002.parquet",
                    "data/train-00000-of-00001.parquet", ".cache/huggingface/download/data/x.parquet.metadata",
                    ".gitattributes"],
    "split-files": ["train.jsonl", "test.jsonl", "validation.parquet", "README.md"],
    "split-files-nested": ["data/train_0.parquet", "data/train_1.parquet", "data/test.parquet", "other/eval-x.json"],
    "split-dirs": ["data/train/a.parquet", "data/train/b.parquet", "data/test/c.parquet", "data/dev/d.parquet"],
    "prefixed-dirs": ["my-train/a.parquet", "train-2024/b.parquet", "x_test_y/c.parquet"],
    "keyword-inside": ["prefs-train.parquet", "prefs_testing-1.parquet", "trainer.parquet", "retrain.parquet"],
    "no-splits": ["prefs.parquet", "more/rows.jsonl", "__pycache__/skip.parquet", ".hidden.parquet"],
    "sharded-with-others": ["data/train-00000-of-00003.parquet", "data/train-00001-of-00003.parquet",
                            "data/train-00002-of-00003.parquet", "data/random-00000-of-00001.parquet",
                            "test.parquet"],
    "matched-twice": ["train/x-train/a.parquet", "train/b.parquet"],
    "case": ["Train.parquet", "TEST.parquet", "valid.parquet"],
    "dotted-split": ["data/train.clean-00000-of-00001.parquet", "data/test.other-00000-of-00001.parquet"],
}


def make_data_files_fixture():
    from datasets.data_files import DataFilesDict, get_data_patterns
    out = {"versions": VERSIONS, "layouts": {}}
    for name, files in LAYOUTS.items():
        with tempfile.TemporaryDirectory() as base:
            for rel in files:
                path = os.path.join(base, rel)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w") as f:
                    f.write("x")
            patterns = get_data_patterns(base)
            resolved = DataFilesDict.from_patterns(patterns, base_path=base)
            splits = {str(split): [os.path.relpath(p, base) for p in files_list] for split, files_list in resolved.items()}
            out["layouts"][name] = {"files": files, "splits": splits, "split_order": list(splits)}
    with open(os.path.join(DATA_DIR, "data_files.json"), "w") as f:
        json.dump(out, f, indent=1)


def main():
    manifest = {"versions": VERSIONS, "files": {}}
    make_parquet_fixtures(manifest)
    make_data_fixtures(manifest)
    make_training_fixture()
    make_selection_fixture(manifest)
    make_data_files_fixture()
    with open(os.path.join(PARQUET_DIR, "manifest.json"), "w") as f:
        json.dump(manifest, f, sort_keys=True, separators=(",", ":"))
    for name, entry in manifest["files"].items():
        encodings = sorted({e for column in entry["columns"].values() for e in column["encodings"]})
        print(name, entry["row_groups"], encodings)


if __name__ == "__main__":
    main()
