"""Builds serialized raw tf.Examples from CSV rows, as a serving client would."""

from __future__ import annotations

from typing import Dict, Iterable, List

import tensorflow as tf
from tensorflow_metadata.proto.v0 import schema_pb2


def examples_from_rows(rows: Iterable[Dict[str, str]], schema: schema_pb2.Schema,
                       drop: Iterable[str] = ()) -> List[bytes]:
    """One serialized tf.Example per CSV row, typed by the schema; empty cells are left out."""
    types = {f.name: f.type for f in schema.feature}
    dropped = set(drop)
    out = []
    for row in rows:
        example = tf.train.Example()
        for name, value in row.items():
            if name in dropped or name not in types or value == '':
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
