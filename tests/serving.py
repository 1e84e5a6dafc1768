"""Builds serialized raw tf.Examples from CSV rows, as a serving client would."""

from __future__ import annotations

from typing import Dict, Iterable, List

import tensorflow as tf
from tensorflow_metadata.proto.v0 import schema_pb2


def examples_from_rows(rows: Iterable[Dict[str, str]], schema: schema_pb2.Schema,
                       drop: Iterable[str] = (), missing_tokens: Iterable[str] = ()) -> List[bytes]:
    """One serialized tf.Example per CSV row, typed by the schema; empty cells (and, in number
    columns, ``missing_tokens``) are left out."""
    types = {f.name: f.type for f in schema.feature}
    dropped = set(drop)
    tokens = set(missing_tokens)
    out = []
    for row in rows:
        example = tf.train.Example()
        for name, value in row.items():
            if name in dropped or name not in types or value == '':
                continue
            if types[name] != schema_pb2.BYTES and value.strip() in tokens:
                continue
            feature = example.features.feature[name]
            if types[name] == schema_pb2.INT:
                feature.int64_list.value.append(int(value))
            elif types[name] == schema_pb2.FLOAT:
                feature.float_list.value.append(float(value))
            else:
                feature.bytes_list.value.append(value.encode())
        out.append(example.SerializeToString())
    return out


def with_blanks(rows: List[Dict[str, str]], keep: Iterable[str] = (), share: float = 0.1,
                seed: int = 0) -> List[Dict[str, str]]:
    """Copies of ``rows`` with ``share`` of their cells emptied (not those of ``keep``, e.g. the
    label), spread over rows and columns at random, and at least one in every column."""
    import random

    kept = set(keep)
    out = [dict(r) for r in rows]
    cells = [(i, name) for i, r in enumerate(out) for name in r if name not in kept]
    rng = random.Random(seed)
    chosen = set(rng.sample(cells, max(1, round(share * len(cells)))))
    for name in {name for _, name in cells}:
        chosen.add((rng.randrange(len(out)), name))
    for i, name in chosen:
        out[i][name] = ''
    return out
