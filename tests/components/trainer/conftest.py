"""A small real Transform output, built once per session without a pipeline run.

The housing preprocessing_fn analyzed over 200 shipped rows (tests/components/conftest.py),
its transform graph plus the transformed examples the Trainer reads (160 train, 40 eval),
laid out as Transform's artifacts are, and the same rows as raw examples (what the Trainer
reads when Transform does not materialize). run_fn tests train on it in `make test-fast`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Dict, List

import pytest
import tensorflow as tf
import tensorflow_transform as tft
from tensorflow_transform.tf_metadata import dataset_metadata, metadata_io

from tests.conftest import csv_rows
from tests.serving import examples_from_rows
from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.pipelines.data import load_schema

TRAIN_ROWS = 160


def _write_examples(path: Path, serialized: List[bytes]) -> None:
    path.mkdir(parents=True)
    with tf.io.TFRecordWriter(str(path / 'data.tfrecord.gz'), options='GZIP') as writer:
        for record in serialized:
            writer.write(record)


def transformed_examples(tft_output: tft.TFTransformOutput, raw: List[bytes]) -> List[bytes]:
    """Transform's materialized output for ``raw``: what the Trainer reads."""
    features = tf.io.parse_example(tf.constant(raw), tft_output.raw_feature_spec())
    transformed = tft_output.transform_features_layer()(features)
    out = []
    for i in range(len(raw)):
        example = tf.train.Example()
        for key, tensor in transformed.items():
            value = tensor[i].numpy().reshape(-1)
            feature = example.features.feature[key]
            if value.dtype.kind == 'f':
                feature.float_list.value.extend(value.tolist())
            else:
                feature.int64_list.value.extend(value.tolist())
        out.append(example.SerializeToString())
    return out


@pytest.fixture(scope='session')
def housing_trainer_inputs(housing_tft, housing_csv, tmp_path_factory) -> Dict[str, str]:
    """A Transform output as the Trainer sees it: transform graph plus transformed examples,
    and ExampleGen's raw examples of the same rows in the same order."""
    root = tmp_path_factory.mktemp('housing-transform-output')
    recipe = get_recipe('housing')
    graph_dir = root / 'transform_graph'
    shutil.copytree(os.path.dirname(housing_tft.transform_savedmodel_dir), graph_dir)
    # Transform also writes the raw schema, which the serving export parses requests with.
    metadata_io.write_metadata(dataset_metadata.DatasetMetadata(load_schema(recipe.schema_path)),
                               str(graph_dir / tft.TFTransformOutput.RAW_METADATA_DIR))
    tft_output = tft.TFTransformOutput(str(graph_dir))
    raw = examples_from_rows(csv_rows(housing_csv, 200), load_schema(recipe.schema_path))
    transformed = transformed_examples(tft_output, raw)
    _write_examples(root / 'examples' / 'Split-train', transformed[:TRAIN_ROWS])
    _write_examples(root / 'examples' / 'Split-eval', transformed[TRAIN_ROWS:])
    _write_examples(root / 'raw_examples' / 'Split-train', raw[:TRAIN_ROWS])
    _write_examples(root / 'raw_examples' / 'Split-eval', raw[TRAIN_ROWS:])
    return {'examples_uri': str(root / 'examples'), 'transform_graph_uri': str(graph_dir),
            'raw_examples_uri': str(root / 'raw_examples')}
