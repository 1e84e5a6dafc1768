"""Exports: the serving SavedModel (raw tf.Example in, TFT inside) and the EvalSavedModel.

The Estimator writes exports into a timestamped folder under a base directory;
TFX wants them at a fixed path, so each export goes to a scratch base and is
then copied into place.
"""

from __future__ import annotations

import json
import math
import os
from typing import Callable, Dict, List, Mapping, Optional, Sequence

import tensorflow as tf
import tensorflow_model_analysis as tfma
import tensorflow_transform as tft
from tfx import v1 as tfx

from tfx_keras_estimator.components.trainer.input_fn import as_column
from tfx_keras_estimator.components.trainer.task import TaskSpec

EXAMPLES_KEY = 'examples'
# The eval model's feature holding the serialized examples (eval_receiver_fn).
SERIALIZED_FEATURE = '__tke_serialized_example'
# The SavedModel's folder for files of its own (TF Serving reads only its warmup file there).
ASSETS_EXTRA_DIR = 'assets.extra'
RAW_SCHEMA_FILE = 'schema.pbtxt'
MODEL_DESCRIPTION_FILE = 'tke_model.json'
MODEL_DESCRIPTION_VERSION = 1
# The tf.train.Feature list that carries each raw dtype.
_LIST_KINDS = {tf.int64: 'int64_list', tf.float32: 'float_list', tf.string: 'bytes_list'}
FeatureSpec = Dict[str, tf.io.FixedLenFeature | tf.io.VarLenFeature]


def serving_feature_spec(tf_transform_output: tft.TFTransformOutput, label_key: str) -> FeatureSpec:
    """The raw features a client sends: everything Transform read, minus the label.

    From the raw schema itself (what ``raw_feature_spec()`` derives it from), so that a
    model description can be written from the schema alone.
    """
    from tensorflow_transform.tf_metadata import schema_utils

    spec = dict(schema_utils.schema_as_feature_spec(tf_transform_output.raw_metadata.schema).feature_spec)
    spec.pop(label_key, None)
    return spec


def parse_requests(serialized: tf.Tensor, raw_feature_spec: FeatureSpec) -> Dict[str, tf.Tensor]:
    """``tf.io.parse_example``, except that a row without a required feature is refused by name.

    Optional features (no ``shape`` in the schema: ``VarLenFeature``) may be missing from any
    row; the transform graph fills them as it filled them in training. A fixed-length feature
    without a default (the schema's ``shape``: a strict recipe) is parsed as a list, and a
    batch where a row lacks it, or has the wrong number of values, fails with an error that
    names the feature and the rows (TensorFlow's own parse error names neither the rule nor
    the row), before it is made dense as ``parse_example`` would have.
    """
    lenient = {key: tf.io.VarLenFeature(spec.dtype) if _strict(spec) else spec
               for key, spec in raw_feature_spec.items()}
    parsed = tf.io.parse_example(serialized, lenient)
    batch = tf.shape(serialized, out_type=tf.int64)[0]
    for key, spec in raw_feature_spec.items():
        if not _strict(spec):
            continue
        values = parsed[key]
        size = math.prod(int(dim) for dim in spec.shape)
        counts = tf.math.unsorted_segment_sum(tf.ones_like(values.indices[:, 0]), values.indices[:, 0], batch)
        bad_rows = tf.reshape(tf.where(tf.not_equal(counts, size)), [-1])
        check = tf.debugging.Assert(
            tf.equal(tf.size(bad_rows), 0),
            [tf.strings.format(f'the model requires feature {key!r} ({spec.dtype.name}, {size} value(s)) in every '
                               'row; these rows (counting from 0) lack it or have another count: {}',
                               bad_rows, summarize=20)], name=f'require_{key}')
        with tf.control_dependencies([check]):
            dense = tf.sparse.to_dense(values)
        parsed[key] = tf.reshape(dense, tf.concat([[-1], tf.constant(list(spec.shape), tf.int64)], 0)
                                 if spec.shape else [-1])
    return parsed


def _strict(spec: tf.io.FixedLenFeature | tf.io.VarLenFeature) -> bool:
    return isinstance(spec, tf.io.FixedLenFeature) and spec.default_value is None


def serving_receiver_fn(tf_transform_output: tft.TFTransformOutput,
                        raw_feature_spec: FeatureSpec) -> Callable[[], tf.estimator.export.ServingInputReceiver]:
    def receiver_fn() -> tf.estimator.export.ServingInputReceiver:
        serialized = tf.compat.v1.placeholder(dtype=tf.string, shape=[None], name='input_example_tensor')
        raw = parse_requests(serialized, raw_feature_spec)
        transformed = tf_transform_output.transform_raw_features(raw, drop_unused_features=True)
        return tf.estimator.export.ServingInputReceiver(transformed, {EXAMPLES_KEY: serialized})

    return receiver_fn


def kept_raw_features(tf_transform_output: tft.TFTransformOutput,
                      eval_features: Optional[Sequence[str]]) -> List[str]:
    """The raw features the eval model keeps (None: all); refuses names the data lacks."""
    raw_spec = tf_transform_output.raw_feature_spec()
    kept = list(raw_spec) if eval_features is None else list(eval_features)
    unknown = sorted(set(kept) - set(raw_spec))
    if unknown:
        raise ValueError(f'eval_features {unknown} are not raw features of the data; raw features: '
                         f'{sorted(raw_spec)}')
    return kept


def eval_receiver_fn(tf_transform_output: tft.TFTransformOutput, transformed_label_key: str,
                     eval_features: Optional[Sequence[str]] = None) -> Callable[[], tfma.export.EvalInputReceiver]:
    """TFMA feeds raw examples (with the label); metrics use the transformed label.

    TFMA copies every feature of the receiver out per example, so each one costs time
    on every eval row. The features are only the raw ones kept for slicing
    (``eval_features``; None: all) and the serialized examples, from which the model_fn
    of ``eval_estimator`` computes the transformed features the model reads.
    """
    raw_spec = tf_transform_output.raw_feature_spec()
    kept = kept_raw_features(tf_transform_output, eval_features)

    def receiver_fn() -> tfma.export.EvalInputReceiver:
        serialized = tf.compat.v1.placeholder(dtype=tf.string, shape=[None], name='input_example_tensor')
        raw = tf.io.parse_example(serialized, raw_spec)
        transformed = tf_transform_output.transform_raw_features(raw)
        features = {**{key: raw[key] for key in kept}, SERIALIZED_FEATURE: serialized}
        return tfma.export.EvalInputReceiver(
            features=features, receiver_tensors={EXAMPLES_KEY: serialized},
            labels=as_column(transformed[transformed_label_key]))

    return receiver_fn


def eval_estimator(estimator: tf.estimator.Estimator,
                   tf_transform_output: tft.TFTransformOutput) -> tf.estimator.Estimator:
    """The trained Estimator, its model_fn fed from ``eval_receiver_fn``'s serialized examples.

    Same checkpoint, same model_fn: the transform graph runs inside it, so the features
    TFMA copies out per example are not the model's, which made TFMA faster
    (docs/own-pipeline.md).
    """
    raw_spec = tf_transform_output.raw_feature_spec()
    model_fn = estimator.model_fn

    def transforming_model_fn(features, labels, mode, config):
        raw = tf.io.parse_example(features[SERIALIZED_FEATURE], raw_spec)
        return model_fn(tf_transform_output.transform_raw_features(raw, drop_unused_features=True), labels, mode,
                        config)

    return tf.estimator.Estimator(transforming_model_fn, model_dir=estimator.model_dir, config=estimator.config)


def model_description(task: TaskSpec, tf_transform_output: tft.TFTransformOutput) -> Dict[str, str]:
    """The files that make a serving model self-describing, by name under ``assets.extra/``.

    A client (``tke predict``) needs what the model was trained on to build requests
    and read answers: the raw schema it parses requests with (Transform's, label
    included) and the task spec (task, label, class names, prediction key, input key).
    Pushed models travel without the run that made them, so they carry both.
    """
    from google.protobuf import text_format
    raw_schema = tf_transform_output.raw_metadata.schema
    spec = serving_feature_spec(tf_transform_output, task.label_key)
    description = {
        'format_version': MODEL_DESCRIPTION_VERSION,
        # The serving contract: each raw feature a request's tf.Examples may carry, its value
        # type (int64_list, float_list, bytes_list) and whether a row must have it.
        'features': {key: {'type': _LIST_KINDS[spec[key].dtype], 'required': _strict(spec[key])}
                     for key in sorted(spec)},
        'task': task.task,
        'label_key': task.label_key,
        'class_labels': list(task.class_labels),
        'prediction_key': task.prediction_key,
        'input_key': EXAMPLES_KEY,
        'signature': tf.saved_model.DEFAULT_SERVING_SIGNATURE_DEF_KEY,
        'raw_schema': RAW_SCHEMA_FILE,
    }
    return {
        RAW_SCHEMA_FILE: text_format.MessageToString(raw_schema),
        MODEL_DESCRIPTION_FILE: json.dumps(description, indent=1, sort_keys=True) + '\n',
    }


def write_assets_extra(saved_model_dir: str, files: Mapping[str, str]) -> None:
    """Writes ``files`` (name -> text) into ``saved_model_dir/assets.extra/``."""
    folder = os.path.join(saved_model_dir, ASSETS_EXTRA_DIR)
    tf.io.gfile.makedirs(folder)
    for name, text in files.items():
        with tf.io.gfile.GFile(os.path.join(folder, name), 'w') as f:
            f.write(text)


def export_serving_model(estimator: tf.estimator.Estimator, receiver_fn: Callable, target_dir: str,
                         scratch_dir: str, assets_extra: Optional[Mapping[str, str]] = None) -> str:
    """Exports to ``scratch_dir``, adds ``assets_extra`` (name -> text), then moves it to ``target_dir``.

    The extra files are written before the move, so a model in place is always complete with them.
    """
    exported = _as_str(estimator.export_saved_model(scratch_dir, receiver_fn))
    if assets_extra:
        write_assets_extra(exported, assets_extra)
    return move_tree(exported, target_dir)


def export_eval_model(estimator: tf.estimator.Estimator, receiver_fn: Callable, target_dir: str,
                      scratch_dir: str) -> str:
    exported = tfma.export.export_eval_savedmodel(
        estimator=estimator, export_dir_base=scratch_dir, eval_input_receiver_fn=receiver_fn)
    return move_tree(_as_str(exported), target_dir)


def _as_str(path: str | bytes) -> str:
    return path.decode() if isinstance(path, bytes) else path


def move_tree(source_dir: str, target_dir: str) -> str:
    """Moves a directory tree by copy and delete (object stores have no directory rename)."""
    fileio = tfx.dsl.io.fileio
    for dirpath, _, filenames in fileio.walk(source_dir):
        relative = os.path.relpath(dirpath, source_dir)
        destination = os.path.normpath(os.path.join(target_dir, relative))
        fileio.makedirs(destination)
        for filename in filenames:
            fileio.copy(os.path.join(dirpath, filename), os.path.join(destination, filename), overwrite=True)
    fileio.rmtree(source_dir)
    return target_dir
