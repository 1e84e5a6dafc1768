"""Runs a preprocessing_fn for real (tf.Transform on Beam) over a few CSV rows."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Callable, Dict, List, Sequence

import numpy as np
import tensorflow_transform.beam as tft_beam
from tensorflow_metadata.proto.v0 import schema_pb2
from tensorflow_transform.tf_metadata import dataset_metadata

GOLDEN_DIR = Path(__file__).parent / 'golden'


def _instance(row: Dict[str, str], schema: schema_pb2.Schema, missing_tokens: Sequence[str] = ()) -> Dict[str, list]:
    """A CSV row as ExampleGen writes it: empty cells (and, in number columns, blank cells and
    ``missing_tokens``) as no value."""
    out = {}
    for feature in schema.feature:
        value = row[feature.name]
        numeric = feature.type in (schema_pb2.INT, schema_pb2.FLOAT)
        if value == '' or (missing_tokens and numeric and value.strip() in ('', *missing_tokens)):
            out[feature.name] = []
        elif feature.type == schema_pb2.INT:
            out[feature.name] = [int(value)]
        elif feature.type == schema_pb2.FLOAT:
            out[feature.name] = [float(value)]
        else:
            out[feature.name] = [value.encode()]
    return out


def analyze_and_transform(preprocessing_fn: Callable, rows: List[Dict[str, str]], schema: schema_pb2.Schema,
                          missing_tokens: Sequence[str] = ()) -> List[Dict[str, object]]:
    metadata = dataset_metadata.DatasetMetadata(schema)
    instances = [_instance(r, schema, missing_tokens) for r in rows]
    with tempfile.TemporaryDirectory() as tmp, tft_beam.Context(temp_dir=tmp):
        (transformed, _), _ = (instances, metadata) | tft_beam.AnalyzeAndTransformDataset(
            preprocessing_fn, output_record_batches=False)
    return [{k: _plain(v) for k, v in sorted(t.items())} for t in transformed]


def _plain(value):
    value = np.asarray(value)
    if value.dtype.kind in 'SO':
        return value.astype(bytes).tolist()
    if value.dtype.kind == 'f':
        return np.round(value.astype(np.float64), 5).tolist()
    return value.tolist()


def check_golden(name: str, outputs: List[Dict[str, object]]) -> None:
    """Compares with tests/golden/<name>.json; UPDATE_GOLDEN=1 rewrites it (review the diff)."""
    path = GOLDEN_DIR / f'{name}.json'
    text = json.dumps(outputs, indent=1, sort_keys=True, default=lambda b: b.decode())
    if os.environ.get('UPDATE_GOLDEN') == '1':
        path.write_text(text + '\n')
    if not path.exists():
        raise AssertionError(f'no golden file {path}; create it with UPDATE_GOLDEN=1 and review it')
    assert_rows_close(json.loads(text), json.loads(path.read_text()))


def assert_rows_close(actual: List[Dict[str, object]], expected: List[Dict[str, object]]) -> None:
    """Same rows, same features, values equal within float noise (TFT's combiners sum in no
    fixed order, so two runs over the same rows can differ in the last digits)."""
    assert len(actual) == len(expected)
    for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
        assert a.keys() == e.keys(), f'row {i}: features differ'
        for key in e:
            np.testing.assert_allclose(np.asarray(a[key], dtype=float), np.asarray(e[key], dtype=float),
                                       rtol=1e-4, atol=1e-5, err_msg=f'row {i}, feature {key}')


def write_transform_output(preprocessing_fn: Callable, rows: List[Dict[str, str]],
                           schema: schema_pb2.Schema, out_dir: str, missing_tokens: Sequence[str] = ()):
    """Analyzes ``rows`` and writes a real transform graph; returns its TFTransformOutput."""
    import tensorflow_transform as tft

    metadata = dataset_metadata.DatasetMetadata(schema)
    instances = [_instance(r, schema, missing_tokens) for r in rows]
    with tempfile.TemporaryDirectory() as tmp, tft_beam.Context(temp_dir=tmp):
        transform_fn = (instances, metadata) | tft_beam.AnalyzeDataset(preprocessing_fn)
        _ = transform_fn | tft_beam.WriteTransformFn(out_dir)
    return tft.TFTransformOutput(out_dir)
