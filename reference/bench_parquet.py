#!/usr/bin/env python3
"""Parquet read speed of pyarrow (26.0.1), for comparison with ours on the same file.

Writes (once) a large UltraFeedback-shaped file the way datasets' to_parquet writes Hub files (snappy, dictionary,
content-defined chunking, page index): prompt, prompt_id, chosen/rejected/messages as list<struct<content, role>>,
score_chosen/score_rejected, with answers of a few hundred words. Then times, several times each:
  read_table        pyarrow's columnar read (all columns), the fastest thing pyarrow does
  read_table+rows   the same plus to_pylist(): Python rows, comparable to our row values
  prefs columns     read_table(columns=[prompt, chosen, rejected]) + to_pylist(): what a preference reader needs
Wall time (best and median) and CPU time (all threads) are printed; on a busy machine the CPU time is the steadier.

Usage: .venv-parquet/bin/python reference/bench_parquet.py [--rows 50000] [--path /tmp/ultrafeedback-50k.parquet]
The file is not committed (about 150 MB for 50k rows). The machine is shared: run it back to back with ours.
"""
import argparse
import os
import random
import sys
import time

import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_parquet_fixtures import ULTRAFEEDBACK_SCHEMA, sentence  # noqa: E402


def rows(count, seed=5):
    rng = random.Random(seed)
    for i in range(count):
        prompt = " ".join(sentence(rng) for _ in range(rng.randint(1, 6)))
        turns = [{"content": prompt, "role": "user"}]
        chosen = turns + [{"content": " ".join(sentence(rng) for _ in range(rng.randint(5, 40))), "role": "assistant"}]
        rejected = turns + [{"content": " ".join(sentence(rng) for _ in range(rng.randint(5, 40))), "role": "assistant"}]
        yield {"prompt": prompt, "prompt_id": "%064x" % rng.getrandbits(256), "chosen": chosen, "rejected": rejected,
               "messages": chosen, "score_chosen": rng.randint(10, 100) / 10, "score_rejected": rng.randint(0, 90) / 10}


def write(path, count):
    batch = []
    with pq.ParquetWriter(path, ULTRAFEEDBACK_SCHEMA, compression="snappy", use_content_defined_chunking=True,
                          write_page_index=True) as writer:
        for row in rows(count):
            batch.append(row)
            if len(batch) == 1000:  # datasets' default writer batch size
                writer.write_table(pa.Table.from_pylist(batch, schema=ULTRAFEEDBACK_SCHEMA))
                batch = []
        if batch:
            writer.write_table(pa.Table.from_pylist(batch, schema=ULTRAFEEDBACK_SCHEMA))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--path", default="/tmp/ultrafeedback-50k.parquet")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if not os.path.exists(args.path):
        write(args.path + ".partial", args.rows)
        os.replace(args.path + ".partial", args.path)
    size = os.path.getsize(args.path)
    count = pq.ParquetFile(args.path).metadata.num_rows
    print(f"{args.path}: {count} rows, {size / 1e6:.1f} MB, pyarrow {pa.__version__}, "
          f"{pa.cpu_count()} CPU threads (pyarrow decodes columns in parallel)")
    cases = {
        "read_table": lambda: pq.read_table(args.path),
        "read_table+rows": lambda: pq.read_table(args.path).to_pylist(),
        "prefs columns+rows": lambda: pq.read_table(args.path, columns=["prompt", "chosen", "rejected"]).to_pylist(),
    }
    for name, case in cases.items():
        times, cpu = [], []
        for _ in range(args.repeats):
            start, start_cpu = time.perf_counter(), time.process_time()
            case()
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        best = min(times)
        print(f"{name:20s} best {best:.3f} s (CPU {min(cpu):.3f} s), median {sorted(times)[len(times) // 2]:.3f} s: "
              f"{count / best:,.0f} rows/s, {size / 1e6 / best:.1f} MB/s")


if __name__ == "__main__":
    main()
