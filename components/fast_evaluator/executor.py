"""The fast Evaluator executor: an EvalSavedModel's metrics in one pass, in one process.

Why: TFX's Evaluator (TFMA on Beam) spends its time in Python per example, not in the
model. For an EvalSavedModel TFMA runs the eval graph over every example twice (once to
extract features for slicing, once to update the metrics), unbatches each batch into one
extract per example, copies each extract once per slice it falls in, and re-batches
them per slice: at 100x the taxi data, some thirty times what the serving model takes to
predict the same rows (figures: docs/performance.md).

What it computes is what TFMA computes, the way TFMA computes it: TFMA updates the
eval graph's metric variables on batches of a slice's examples
(``metrics_reset_update_get_list``), adds the variables of the batches up, and reads the
metrics from the sums (``metrics_set_variables_and_get_values``). Here each block of
examples is grouped by its combination of slice-feature values (a partition; each
example is in exactly one), the eval graph runs once per example, on the partition's
rows; a slice's variables are the sum of its partitions'. The metrics are named by
TFMA's own EvalSavedModel combiner, diffed against the baseline as TFMA does, validated
by TFMA's validator and written with TFMA's writers' converters into the files they
write, and the blessing is written as TFX's executor writes it.
``tests/components/test_fast_evaluator.py`` runs both executors on the same model and
examples and compares every metric, the validation and the blessing.

Anything else goes to TFX's executor unchanged (``fallback_reason`` says why, and
``Executor.fallback`` keeps it): models that are not EvalSavedModels, TFMA metrics or
plots in the metrics specs, the model's own metrics turned off
(``include_default_metrics``), confidence intervals, value or SQL slices, cross slices, a
minimum slice size, fairness indicators, user modules, a Beam runner other than the local
one (Dataflow reads the data where it is), payloads other than tf.Example, slice features
with more than one value in an example (it would fall in several partitions), and slice
features that the eval graph does not hand out as the examples hold them (TFMA slices on
the graph's features: ``check_slice_features``).
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf
import tensorflow_model_analysis as tfma
from absl import logging

# TFMA's own pieces for an EvalSavedModel's metrics (no public alias): the combiner that names
# them, the validator, the metric-spec computations (to know there are none besides the
# model's own), the rubber-stamp rule, its evaluator's diff and private-metric rules, and its
# writers' converters and validation merge.
# (eval_saved_model_util is imported where it is used: TFMA >= 0.47, with no EvalSavedModel, lacks
# it, and there the version check hands every evaluation to TFX's executor before it is needed.)
from tensorflow_model_analysis.evaluators import metrics_validator
from tensorflow_model_analysis.metrics import metric_specs, metric_types
from tensorflow_model_analysis.utils import model_util
from tensorflow_model_analysis.writers import eval_config_writer
from tensorflow_model_analysis.writers import metrics_plots_and_validations_writer as mpv_writer
from tfx import types

# No public tfx.v1 counterparts: the Evaluator's own executor (the fallback, and the constants
# of its blessing), and the helpers it uses to find models, examples and their format.
from tfx.components.evaluator import constants
from tfx.components.evaluator import executor as tfx_evaluator_executor
from tfx.components.util import examples_utils
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import io_utils, json_utils, path_utils, proto_utils

from tfx_keras_estimator.components import tfx_internals
from tfx_keras_estimator.components.beam_runners import remote_runner
from tfx_keras_estimator.components.fast_tfxio import record_blocks

# Examples read per block, and per call of the eval graph: as fast as 65,536 with less peak memory
# (docs/performance.md).
BLOCK_ROWS = 16384
GRAPH_BATCH_ROWS = 16384
# Examples held back (``PendingRows``) at most, over all partitions, before the fullest is run.
PENDING_ROWS = 4 * GRAPH_BATCH_ROWS
# Examples whose slice features are compared with the eval graph's before the fast path is taken.
SLICE_CHECK_ROWS = 1024
# The shard suffix Beam gives TFMA's one-shard outputs (metrics, plots, attributions).
_ONE_SHARD = '-00000-of-00001.tfrecord'


SliceKey = Tuple[Tuple[str, Any], ...]
Partition = Tuple[Any, ...]


class _NotFastPath(Exception):
    """Found while reading: this evaluation needs TFX's executor."""


def fallback_reason(eval_config_json: Optional[str], exec_properties: Dict[str, Any],
                    beam_pipeline_args: Sequence[str]) -> Optional[str]:
    """Why TFX's executor must run this evaluation, or None when the fast path computes the same."""
    if not eval_config_json:
        return 'no eval_config (the deprecated feature_slicing_spec)'
    if json_utils.loads(exec_properties.get(standard_component_specs.FAIRNESS_INDICATOR_THRESHOLDS_KEY,
                                            'null')):
        return 'fairness indicator thresholds'
    if exec_properties.get(standard_component_specs.MODULE_PATH_KEY) or exec_properties.get(
            standard_component_specs.MODULE_FILE_KEY):
        return 'a user module (custom extractors or shared model)'
    runner = remote_runner(beam_pipeline_args)
    if runner is not None:
        return f'the Beam runner {runner}'
    versions = tfx_internals.mismatch(checked=(tfx_internals.CHECKED,))  # EvalSavedModel: TFMA 0.46
    if versions is not None:
        return versions
    eval_config = tfma.EvalConfig()
    proto_utils.json_to_proto(eval_config_json, eval_config)
    if not eval_config.model_specs:
        return 'no model_specs (TFMA then assumes a serving model)'
    for spec in eval_config.model_specs:
        if tfma.utils.get_model_type(spec) != tfma.TFMA_EVAL:
            return f'model {spec.name!r} is not an EvalSavedModel (signature {spec.signature_name!r})'
    computations = metric_specs.to_computations(eval_config.metrics_specs, eval_config=eval_config)
    if computations:
        return 'TFMA metrics or plots in metrics_specs'
    for spec in eval_config.metrics_specs:
        if spec.query_key or spec.HasField('binarize') or spec.HasField('aggregate'):
            return 'a query key, binarization or aggregation in metrics_specs'
    options = eval_config.options
    if options.HasField('include_default_metrics') and not options.include_default_metrics.value:
        return "include_default_metrics off (TFMA then computes none of the model's own metrics)"
    if options.compute_confidence_intervals.value or options.min_slice_size.value > 1 or \
            options.disabled_outputs.values:
        return 'confidence intervals, a minimum slice size or disabled outputs'
    if eval_config.cross_slicing_specs:
        return 'cross slices'
    seen = set()
    for spec in eval_config.slicing_specs:
        if spec.feature_values or spec.slice_keys_sql:
            return 'slices on feature values or SQL'
        keys = tuple(sorted(spec.feature_keys))
        if keys in seen:
            return 'the same slicing spec twice'
        seen.add(keys)
    return None


@dataclasses.dataclass
class _Model:
    """One model of the evaluation: its eval graph, and the combiner that names its metrics."""

    graph: Any
    combiner: Any

    @classmethod
    def load(cls, shared: Any) -> '_Model':
        """From a ``tfma.default_eval_shared_model``."""
        from tensorflow_model_analysis.evaluators import eval_saved_model_util

        [computation] = eval_saved_model_util.metric_computations_using_eval_saved_model(
            shared.model_name, shared.model_loader)
        computation.combiner.setup()
        return cls(shared.model_loader.load(), computation.combiner)

    def variables(self, examples: np.ndarray) -> List[Any]:
        """The metric variables over ``examples`` (serialized), in graph-sized batches, summed."""
        total = None
        for start in range(0, len(examples), GRAPH_BATCH_ROWS):
            batch = self.graph.metrics_reset_update_get_list(examples[start:start + GRAPH_BATCH_ROWS].tolist())
            total = add_variables(total, batch)
        return total

    def metrics(self, variables: List[Any]) -> Dict[metric_types.MetricKey, Any]:
        """The metrics of summed variables, keyed as TFMA's EvalSavedModel combiner keys them."""
        accumulator = self.combiner.create_accumulator()
        # The combiner's state (TFMA's _AggState): summed variables, no pending examples.
        accumulator.metric_variables = variables
        return self.combiner.extract_output(accumulator)


def add_variables(left: Optional[List[Any]], right: Optional[List[Any]]) -> Optional[List[Any]]:
    """Metric variables of two sets of examples combined, as TFMA combines them (elementwise sum)."""
    if left is None:
        return right
    if right is None:
        return left
    return [a + b for a, b in zip(left, right, strict=True)]


class PendingRows:
    """Each partition's examples, held back until a graph batch of them is ready.

    Why: a block's rows fall into as many partitions as there are slice values in it (25 for
    the taxi recipe's hour), and every call of the eval graph resets, updates and reads all
    metric variables: gathering a partition's rows across blocks makes far fewer calls than
    running each block's partitions at once. At most ``limit`` rows are held: past it, the
    partition holding the most runs, so memory does not grow with the slice values' count.
    """

    def __init__(self, batch_rows: int, limit: int) -> None:
        self._batch_rows, self._limit = batch_rows, limit
        self._held: Dict[Partition, List[np.ndarray]] = {}
        self._rows: Dict[Partition, int] = {}
        self._total = 0

    def add(self, partition: Partition, examples: np.ndarray) -> List[Tuple[Partition, np.ndarray]]:
        """Holds ``examples`` of ``partition``; returns the partitions' examples to run now."""
        self._held.setdefault(partition, []).append(examples)
        self._rows[partition] = self._rows.get(partition, 0) + len(examples)
        self._total += len(examples)
        ready = []
        if self._rows[partition] >= self._batch_rows:
            ready.append(self._take(partition))
        while self._total > self._limit:
            ready.append(self._take(max(self._rows, key=self._rows.__getitem__)))
        return ready

    def drain(self) -> List[Tuple[Partition, np.ndarray]]:
        """Everything still held, to run at the end of the examples."""
        return [self._take(partition) for partition in list(self._held)]

    def _take(self, partition: Partition) -> Tuple[Partition, np.ndarray]:
        self._total -= self._rows.pop(partition)
        return partition, np.concatenate(self._held.pop(partition))


@dataclasses.dataclass
class SliceColumn:
    """One slice feature over a block of examples: values per example, and the values in order."""

    lengths: np.ndarray
    values: np.ndarray

    @classmethod
    def from_rows(cls, row_ids: np.ndarray, values: np.ndarray, rows: int) -> 'SliceColumn':
        """From a VarLenFeature of ``tf.io.parse_example``: each value's row (ascending), the values."""
        return cls(np.bincount(row_ids, minlength=rows), values)

    def per_row(self, rows: Optional[int] = None) -> List[list]:
        """The values of each of the first ``rows`` examples (None: all)."""
        lengths = self.lengths[:rows]
        ends = np.cumsum(lengths)
        return [list(self.values[end - n:end]) for n, end in zip(lengths, ends, strict=True)]


def _column_codes(column: SliceColumn) -> Tuple[np.ndarray, np.ndarray]:
    """Per row, the index of its value in the returned values (-1: feature missing)."""
    if (column.lengths > 1).any():
        raise _NotFastPath('a slice feature has more than one value in an example')
    codes = np.full(len(column.lengths), -1, dtype=np.int64)
    values, inverse = np.unique(column.values, return_inverse=True)
    codes[column.lengths == 1] = inverse.reshape(-1)
    return codes, values


def partition_rows(columns: Dict[str, SliceColumn], rows: int,
                   features: Sequence[str]) -> List[Tuple[Partition, np.ndarray]]:
    """A block's rows grouped by their slice-feature values (None: missing), each row in one group."""
    if not features:
        return [((), np.arange(rows))]
    coded = [_column_codes(columns[f]) for f in features]
    keys, inverse = np.unique(np.stack([codes for codes, _ in coded], axis=1), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    order = np.argsort(inverse, kind='stable')
    bounds = np.cumsum(np.bincount(inverse, minlength=len(keys)))[:-1]
    groups = []
    for key, group in zip(keys, np.split(order, bounds), strict=True):
        groups.append((tuple(None if code < 0 else values[code] for code, (_, values) in zip(key, coded, strict=True)),
                       group))
    return groups


def slice_spec(graph: Any, features: Sequence[str]) -> Dict[str, tf.io.VarLenFeature]:
    """How to parse the slice features from the examples: with the eval graph's types."""
    graph_features = graph.get_features_predictions_labels_dicts()[0]
    missing = [f for f in features if f not in graph_features]
    if missing:
        raise _NotFastPath(f'the slice features {missing} are not features of the eval graph')
    spec = {}
    for name in features:
        dtype = graph_features[name].dtype
        if not (dtype.is_integer or dtype.is_floating or dtype == tf.string):
            raise _NotFastPath(f'the slice feature {name!r} is a {dtype.name} in the eval graph')
        spec[name] = tf.io.VarLenFeature(tf.int64 if dtype.is_integer else tf.float32 if dtype.is_floating
                                         else tf.string)
    return spec


def _graph_values(value: Any) -> list:
    """A feature of one example as TFMA's slicer reads it from the eval graph: its values, flat."""
    if isinstance(value, dict) and 'node' in value:
        value = value['node']
    if hasattr(value, 'values') and not isinstance(value, np.ndarray):
        value = value.values
    return list(np.asarray(value).reshape(-1))


def parse_slice_features(records: tf.Tensor, spec: Dict[str, tf.io.VarLenFeature]) -> Dict[str, Tuple]:
    """Each slice feature of serialized examples: each value's row, and the values (for ``SliceColumn``)."""
    if not spec:  # only the overall slice (the parser refuses an empty spec)
        return {}
    parsed = tf.io.parse_example(records, spec)
    return {f: (parsed[f].indices[:, 0], parsed[f].values) for f in spec}


def check_slice_features(graph: Any, columns: Dict[str, SliceColumn], raw: np.ndarray, features: Sequence[str],
                         rows: int = SLICE_CHECK_ROWS) -> None:
    """TFMA slices on the eval graph's features; here they are read from the examples. Are they the same?

    Our Trainer's eval model hands TFMA the slice features as parsed from the examples, but
    another EvalSavedModel could hand it anything under those names: the first rows are run
    through the graph and compared, and any difference leaves the evaluation to TFMA.
    """
    if not features:
        return
    parsed = {f: columns[f].per_row(rows) for f in features}
    for fpl in graph.as_features_predictions_labels(graph.predict_list(raw[:rows].tolist())):
        i = int(fpl.input_ref)
        for f in features:
            ours, theirs = parsed[f][i], _graph_values(fpl.features[f])
            if [_slice_value(v) for v in ours] != [_slice_value(v) for v in theirs]:
                raise _NotFastPath(f'the eval graph\'s {f!r} is not the examples\' (row {i}: {theirs} '
                                   f'against {ours})')


def _slice_value(value: Any) -> Any:
    """A slice key's value as TFMA's slicer keys it: bytes as text, numbers as Python numbers."""
    if isinstance(value, bytes):
        return tf.compat.as_text(value)
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    return value.item() if isinstance(value, np.generic) else value


def slice_keys(partition: Partition, features: Sequence[str],
               slicing_specs: Sequence[tfma.SlicingSpec]) -> List[SliceKey]:
    """The slices a partition's examples fall in: one per spec whose features they all have."""
    values = dict(zip(features, partition, strict=True))
    keys = []
    for spec in slicing_specs:
        if all(values[f] is not None for f in spec.feature_keys):
            keys.append(tuple(sorted((f, _slice_value(values[f])) for f in spec.feature_keys)))
    return keys


def add_diff_metrics(metrics: Dict[metric_types.MetricKey, Any],
                     baseline_name: Optional[str]) -> Dict[metric_types.MetricKey, Any]:
    """Candidate minus baseline for each numeric metric both have, keyed as TFMA keys diffs."""
    if not baseline_name:
        return metrics
    result = dict(metrics)
    for key, value in metrics.items():
        if key.is_diff or key.model_name == baseline_name:
            continue
        baseline_key = key.make_baseline_key(baseline_name)
        if baseline_key in metrics and tfx_internals.is_metric_diffable(value):
            result[key.make_diff_key()] = value - metrics[baseline_key]
    return result


class Executor(tfx_evaluator_executor.Executor):
    """TFX's Evaluator executor, with EvalSavedModel evaluations computed in one pass."""

    # Why the last Do() handed the evaluation to TFX's executor; None: it did not.
    fallback: Optional[str] = None

    def Do(self, input_dict: Dict[str, List[types.Artifact]], output_dict: Dict[str, List[types.Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        eval_config_json = exec_properties.get(standard_component_specs.EVAL_CONFIG_KEY)
        reason = fallback_reason(eval_config_json, exec_properties, self._beam_pipeline_args or [])
        if reason is None and standard_component_specs.MODEL_KEY not in input_dict:
            reason = 'no model'
        if reason is None and any(examples_utils.get_payload_format(a) != example_gen_pb2.FORMAT_TF_EXAMPLE
                                  for a in input_dict[standard_component_specs.EXAMPLES_KEY]):
            reason = 'examples that are not tf.Examples'
        if reason is None:
            try:
                return self._evaluate(input_dict, output_dict, exec_properties)
            except _NotFastPath as e:
                reason = str(e)
        logging.info('FastEvaluator: TFX\'s executor evaluates (%s).', reason)
        self.fallback = reason
        return super().Do(input_dict, output_dict, exec_properties)

    def _evaluate(self, input_dict: Dict[str, List[types.Artifact]], output_dict: Dict[str, List[types.Artifact]],
                  exec_properties: Dict[str, Any]) -> None:
        started = time.time()
        has_baseline = bool(input_dict.get(standard_component_specs.BASELINE_MODEL_KEY))
        eval_config = tfma.EvalConfig()
        proto_utils.json_to_proto(exec_properties[standard_component_specs.EVAL_CONFIG_KEY], eval_config)
        # As TFX's executor prepares it: a change threshold without a baseline is ignored.
        eval_config = tfma.utils.update_eval_config_with_defaults(eval_config, has_baseline=has_baseline,
                                                                  rubber_stamp=True)
        tfma.utils.verify_eval_config(eval_config)
        run_validation = bool(tfma.metrics.metric_thresholds_from_metrics_specs(eval_config.metrics_specs,
                                                                                eval_config=eval_config))
        shared_models = []
        for spec in eval_config.model_specs:
            key = (standard_component_specs.BASELINE_MODEL_KEY if spec.is_baseline
                   else standard_component_specs.MODEL_KEY)
            artifact = artifact_utils.get_single_instance(input_dict[key])
            path = path_utils.eval_model_path(artifact.uri, path_utils.is_old_model_artifact(artifact))
            logging.info('Using %s as %s model.', path, spec.name)
            shared_models.append(tfma.default_eval_shared_model(
                eval_saved_model_path=path, model_name=spec.name, eval_config=eval_config))
        # As TFMA's ExtractEvaluateAndWriteResults updates it before evaluating and writing.
        eval_config = tfma.utils.update_eval_config_with_defaults(
            eval_config, has_baseline=len(shared_models) > 1,
            rubber_stamp=model_util.has_rubber_stamp(shared_models))
        models = [_Model.load(shared) for shared in shared_models]
        slicing_specs = list(eval_config.slicing_specs) or [tfma.SlicingSpec()]
        features = sorted({f for spec in slicing_specs for f in spec.feature_keys})

        partitions: Dict[Partition, List[Optional[List[Any]]]] = {}

        def run(partition: Partition, examples: np.ndarray) -> None:
            sums = partitions.setdefault(partition, [None] * len(models))
            for i, model in enumerate(models):
                sums[i] = add_variables(sums[i], model.variables(examples))

        pending = PendingRows(GRAPH_BATCH_ROWS, PENDING_ROWS)
        rows = 0
        for raw, columns in self._blocks(input_dict, exec_properties, slice_spec(models[0].graph, features)):
            if not rows:
                for model in models:
                    check_slice_features(model.graph, columns, raw, features)
            rows += len(raw)
            for partition, group in partition_rows(columns, len(raw), features):
                for ready in pending.add(partition, raw[group]):
                    run(*ready)
        for ready in pending.drain():
            run(*ready)

        sliced: Dict[SliceKey, List[Optional[List[Any]]]] = {}
        for partition, sums in partitions.items():
            for key in slice_keys(partition, features, slicing_specs):
                totals = sliced.setdefault(key, [None] * len(models))
                sliced[key] = [add_variables(t, s) for t, s in zip(totals, sums, strict=True)]
        baseline = model_util.get_baseline_model_spec(eval_config)
        results = []
        for key, sums in sliced.items():
            metrics = {}
            for model, variables in zip(models, sums, strict=True):
                metrics.update(model.metrics(variables))
            # Without TFMA's private metrics, as TFMA drops them.
            results.append(tfx_internals.remove_private_metrics(
                key, add_diff_metrics(metrics, baseline.name if baseline else None)))
        validations = [metrics_validator.validate_metrics(result, eval_config) for result in results]
        output_uri = artifact_utils.get_single_uri(output_dict[constants.EVALUATION_KEY])
        computed = time.time()
        self._write(output_uri, results, validations, shared_models, eval_config)
        logging.info('FastEvaluator: %d examples, %d partitions, %d slices, %d model(s): %.1f s, written in %.1f s '
                     'to %s.', rows, len(partitions), len(results), len(models), computed - started,
                     time.time() - computed, output_uri)
        if run_validation:
            self._bless(input_dict, output_dict, exec_properties, output_uri)
        else:
            logging.info('No threshold configured, will not validate model.')

    def _blocks(self, input_dict: Dict[str, List[types.Artifact]], exec_properties: Dict[str, Any],
                spec: Dict[str, tf.io.VarLenFeature]) -> Iterator[Tuple[np.ndarray, Dict[str, SliceColumn]]]:
        """The example splits' serialized records in blocks, with their slice features parsed.

        TensorFlow's example parser reads only the slice features, in tf.data's threads while
        the eval graph runs (tfx_bsl's decoder parses every feature, which took longer than the
        eval graph itself).
        """
        examples = input_dict[standard_component_specs.EXAMPLES_KEY]
        splits = json_utils.loads(exec_properties.get(standard_component_specs.EXAMPLE_SPLITS_KEY, 'null')) \
            or ['eval']
        patterns = [io_utils.all_files_pattern(uri) for split in splits
                    for uri in artifact_utils.get_split_uris(examples, split)]
        dataset = record_blocks(patterns, BLOCK_ROWS).map(
            lambda records: (records, parse_slice_features(records, spec)),
            num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(1)
        try:
            for records, parsed in dataset.as_numpy_iterator():
                yield records, {f: SliceColumn.from_rows(*parsed[f], len(records)) for f in spec}
        except tf.errors.InvalidArgumentError as e:
            raise _NotFastPath(f'the slice features do not parse as the eval graph types them ({e.message})') from e

    @staticmethod
    def _write(output_uri: str, results: List[Tuple[SliceKey, Dict]], validations: List[Any],
               shared_models: List[Any], eval_config: tfma.EvalConfig) -> None:
        """The files TFMA's default writers write (names, records, the merged validation, the config).

        Through TFMA's own converters, without Beam: a Beam pipeline for one record per
        slice took longer than computing the slices' metrics.
        """
        callbacks = shared_models[0].add_metrics_callbacks if len(shared_models) == 1 else None
        combine = mpv_writer.CombineValidations(eval_config, rubber_stamp=model_util.has_rubber_stamp(shared_models))
        merged = combine.create_accumulator()
        for validation in validations:
            merged = combine.add_input(merged, validation)
        records = {
            f'{tfma.METRICS_KEY}{_ONE_SHARD}': [mpv_writer.convert_slice_metrics_to_proto(result, callbacks)
                                                for result in results],
            # A record per slice without plots or attributions, as TFMA writes them.
            f'{tfma.PLOTS_KEY}{_ONE_SHARD}': [mpv_writer.convert_slice_plots_to_proto((key, {}), callbacks)
                                              for key, _ in results],
            f'{tfma.ATTRIBUTIONS_KEY}{_ONE_SHARD}': [mpv_writer.convert_slice_attributions_to_proto((key, {}))
                                                     for key, _ in results],
            f'{tfma.VALIDATIONS_KEY}.tfrecord': [combine.extract_output(merged)],
        }
        for name, protos in records.items():
            with tf.io.TFRecordWriter(os.path.join(output_uri, name)) as writer:
                for proto in protos:
                    writer.write(proto.SerializeToString())
        locations = {m.model_name: m.model_path or '<unknown>' for m in shared_models}
        # As TFMA's EvalConfigWriter writes it for an evaluation of a PCollection (TFX's case).
        run = tfx_internals.serialize_eval_run(eval_config, '<user provided PCollection>', '<unknown>', locations)
        io_utils.write_string_file(os.path.join(output_uri, eval_config_writer.EVAL_CONFIG_FILE + '.json'),
                                   run + '\n')

    @staticmethod
    def _bless(input_dict: Dict[str, List[types.Artifact]], output_dict: Dict[str, List[types.Artifact]],
               exec_properties: Dict[str, Any], output_uri: str) -> None:
        """The blessing artifact, with the properties and file TFX's executor writes."""
        blessing = artifact_utils.get_single_instance(output_dict[standard_component_specs.BLESSING_KEY])
        model = input_dict[standard_component_specs.MODEL_KEY][0]
        blessing.set_string_custom_property(constants.ARTIFACT_PROPERTY_CURRENT_MODEL_URI_KEY, model.uri)
        blessing.set_int_custom_property(constants.ARTIFACT_PROPERTY_CURRENT_MODEL_ID_KEY, model.id)
        if input_dict.get(standard_component_specs.BASELINE_MODEL_KEY):
            baseline = input_dict[standard_component_specs.BASELINE_MODEL_KEY][0]
            blessing.set_string_custom_property(constants.ARTIFACT_PROPERTY_BASELINE_MODEL_URI_KEY, baseline.uri)
            blessing.set_int_custom_property(constants.ARTIFACT_PROPERTY_BASELINE_MODEL_ID_KEY, baseline.id)
        if 'current_component_id' in exec_properties:
            blessing.set_string_custom_property('component_id', exec_properties['current_component_id'])
        ok = tfma.load_validation_result(output_uri).validation_ok
        name = constants.BLESSED_FILE_NAME if ok else constants.NOT_BLESSED_FILE_NAME
        io_utils.write_string_file(os.path.join(blessing.uri, name), '')
        blessing.set_int_custom_property(constants.ARTIFACT_PROPERTY_BLESSED_KEY,
                                         constants.BLESSED_VALUE if ok else constants.NOT_BLESSED_VALUE)
        logging.info('Blessing result %s written to %s.', ok, blessing.uri)
