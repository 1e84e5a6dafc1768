"""What the run report shows, read from a run's artifacts with the libraries that wrote them.

MLMD (``tfx_keras_estimator.pipelines.app.report``) says which artifacts a run made; this module opens them: TFDV
statistics and anomalies, the Estimator's TensorBoard event files (or the Keras fit's
history), TFMA's evaluation and validation, the pushed SavedModel's signatures. Plain
dataclasses come out, so the HTML page (``tfx_keras_estimator.pipelines.app.report_html``) is only layout.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from tfx_keras_estimator.pipelines.app.report import BASELINE, CANDIDATE, POST_EXPORT_EXAMPLE_COUNT, with_example_count

# ExampleValidator's anomalies, per split.
ANOMALIES_FILE = 'SchemaDiff.pb'
STATS_FILE = 'FeatureStats.pb'
STACK = ('tfx-keras-estimator', 'tfx', 'tensorflow', 'apache-beam', 'tensorflow-transform',
         'tensorflow-model-analysis', 'tensorflow-data-validation', 'ml-metadata')
# The Estimator's training loss summary of a converted Keras model is "loss_1" ("loss" is
# taken by the Keras loss op); both are the training loss.
TRAIN_LOSS_TAGS = ('loss', 'loss_1')
SKIPPED_SCALARS = ('global_step/sec',)


def stack_versions() -> Dict[str, str]:
    """The installed versions of the stack the report was built with."""
    import platform

    versions = {'python': platform.python_version()}
    for name in STACK:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = 'not installed'
    return versions


# ---- data: StatisticsGen and ExampleValidator ----

@dataclass
class FeatureSummary:
    name: str
    kind: str  # INT, FLOAT, STRING, BYTES, STRUCT
    count: int  # examples with a value
    missing: float  # share of examples without one
    min: Optional[float] = None
    mean: Optional[float] = None
    max: Optional[float] = None
    std: Optional[float] = None
    zeros: Optional[float] = None  # share of zeros among numbers
    unique: Optional[int] = None
    top: List[Tuple[str, float]] = field(default_factory=list)  # (value, count)
    # Numeric: (low, high, count) buckets of TFDV's standard histogram.
    histogram: List[Tuple[float, float, float]] = field(default_factory=list)


@dataclass
class SplitStatistics:
    split: str
    examples: int
    features: List[FeatureSummary]


def _split_files(uri: str, name: str) -> List[Tuple[str, Path]]:
    """(split, ``Split-<split>/<name>``) of an artifact where the file exists, train first."""
    root = Path(uri)
    found = {p.name[len('Split-'):]: p / name for p in root.glob('Split-*') if (p / name).is_file()} \
        if root.is_dir() else {}
    return sorted(found.items(), key=lambda kv: (kv[0] != 'train', kv[0]))


def read_statistics(statistics_uri: str) -> List[SplitStatistics]:
    """Per split, each feature's summary from StatisticsGen's FeatureStats.pb (TFDV)."""
    import tensorflow_data_validation as tfdv
    from tensorflow_metadata.proto.v0 import statistics_pb2

    out = []
    for split, path in _split_files(statistics_uri, STATS_FILE):
        stats = tfdv.load_stats_binary(str(path))
        if not stats.datasets:
            continue
        dataset = stats.datasets[0]
        examples = int(dataset.num_examples)
        features = []
        for feature in dataset.features:
            name = feature.path.step[-1] if feature.path.step else feature.name
            kind = statistics_pb2.FeatureNameStatistics.Type.Name(feature.type)
            which = feature.WhichOneof('stats')
            if which == 'num_stats':
                ns = feature.num_stats
                common = ns.common_stats
                present = int(common.num_non_missing)
                standard = [h for h in ns.histograms if h.type == statistics_pb2.Histogram.STANDARD]
                features.append(FeatureSummary(
                    name, kind, present, _missing(common, examples), min=ns.min, mean=ns.mean, max=ns.max,
                    std=ns.std_dev, zeros=(ns.num_zeros / present) if present else None,
                    histogram=[(b.low_value, b.high_value, b.sample_count) for b in standard[0].buckets]
                    if standard else []))
            elif which == 'string_stats':
                ss = feature.string_stats
                common = ss.common_stats
                features.append(FeatureSummary(
                    name, kind, int(common.num_non_missing), _missing(common, examples), unique=int(ss.unique),
                    top=[(v.value, v.frequency) for v in ss.top_values[:10]]))
            elif which == 'bytes_stats':
                common = feature.bytes_stats.common_stats
                features.append(FeatureSummary(name, kind, int(common.num_non_missing), _missing(common, examples),
                                               unique=int(feature.bytes_stats.unique) or None))
            else:
                features.append(FeatureSummary(name, kind, 0, 0.0))
        out.append(SplitStatistics(split, examples, features))
    return out


def _missing(common, examples: int) -> float:
    return float(common.num_missing) / examples if examples else 0.0


@dataclass
class Anomaly:
    split: str
    feature: str
    severity: str
    short: str
    description: str


def read_anomalies(anomalies_uri: str) -> List[Anomaly]:
    """ExampleValidator's findings in words, per split and feature (TFDV's own descriptions)."""
    from tensorflow_metadata.proto.v0 import anomalies_pb2

    found = []
    for split, path in _split_files(anomalies_uri, ANOMALIES_FILE):
        # TFDV has a text loader only; the binary proto is read with tensorflow_metadata's own class.
        anomalies = anomalies_pb2.Anomalies.FromString(path.read_bytes())
        for feature, info in sorted(anomalies.anomaly_info.items()):
            found.append(Anomaly(split, feature, anomalies_pb2.AnomalyInfo.Severity.Name(info.severity),
                                 info.short_description, info.description))
        if anomalies.HasField('dataset_anomaly_info') and anomalies.dataset_anomaly_info.description:
            info = anomalies.dataset_anomaly_info
            found.append(Anomaly(split, '(dataset)', anomalies_pb2.AnomalyInfo.Severity.Name(info.severity),
                                 info.short_description, info.description))
    return found


# ---- training: event files or the Keras fit's history ----

@dataclass
class Curve:
    """One metric against the global step (or the epoch): training and evaluation points."""

    metric: str
    train: List[Tuple[int, float]] = field(default_factory=list)
    eval: List[Tuple[int, float]] = field(default_factory=list)
    x_label: str = 'global step'


def _scalars(folder: Path) -> Dict[str, List[Tuple[int, float]]]:
    from tensorboard.backend.event_processing import event_accumulator

    if not folder.is_dir() or not any(p.name.startswith('events.out.tfevents') for p in folder.iterdir()):
        return {}
    accumulator = event_accumulator.EventAccumulator(
        str(folder), size_guidance={event_accumulator.SCALARS: 0, event_accumulator.TENSORS: 0,
                                    event_accumulator.IMAGES: 1, event_accumulator.HISTOGRAMS: 1,
                                    event_accumulator.GRAPH: 0, event_accumulator.META_GRAPH: 0})
    accumulator.Reload()
    out = {}
    for tag in accumulator.Tags().get('scalars', []):
        out[tag] = [(e.step, e.value) for e in accumulator.Scalars(tag)]
    # TF2 summaries (tf.summary.scalar) arrive as tensors.
    import tensorflow as tf

    for tag in accumulator.Tags().get('tensors', []):
        points = []
        for e in accumulator.Tensors(tag):
            value = tf.make_ndarray(e.tensor_proto)
            if value.shape == () and value.dtype.kind in 'fi':
                points.append((e.step, float(value)))
        if points:
            out.setdefault(tag, points)
    return out


def training_curves(model_run_uri: str) -> List[Curve]:
    """Loss and metrics of a Trainer's ModelRun: the Estimator's train and eval events,
    or, for ``keras_fit``, the fit's per-epoch history."""
    from tfx_keras_estimator.components.trainer.adapter import ESTIMATOR_SUBDIR, FIT_SUMMARY_FILE, KERAS_SUBDIR

    run = Path(model_run_uri)
    fit_summary = run / KERAS_SUBDIR / FIT_SUMMARY_FILE
    if fit_summary.is_file():
        history = json.loads(fit_summary.read_text()).get('history', {})
        curves = {}
        for key, values in history.items():
            metric = key[len('val_'):] if key.startswith('val_') else key
            curve = curves.setdefault(metric, Curve(metric, x_label='epoch'))
            points = [(i + 1, v) for i, v in enumerate(values) if math.isfinite(v)]
            if key.startswith('val_'):
                curve.eval = points
            else:
                curve.train = points
        return list(curves.values())
    estimator_dir = run / ESTIMATOR_SUBDIR
    train = _scalars(estimator_dir)
    evals = {}
    for folder in sorted(estimator_dir.glob('eval*')) if estimator_dir.is_dir() else []:
        for tag, points in _scalars(folder).items():
            evals.setdefault(tag, points)
    curves: Dict[str, Curve] = {}
    for tag, points in train.items():
        if tag in SKIPPED_SCALARS:
            continue
        metric = 'loss' if tag in TRAIN_LOSS_TAGS else tag
        curves.setdefault(metric, Curve(metric)).train = points
    for tag, points in evals.items():
        if tag in SKIPPED_SCALARS:
            continue
        curves.setdefault(tag, Curve(tag)).eval = points
    # The loss first, then the eval metrics by name.
    return sorted(curves.values(), key=lambda c: (c.metric != 'loss', c.metric))


# ---- evaluation: TFMA ----

@dataclass
class SliceMetrics:
    slice: str  # "Overall" or "feature = value"
    metrics: Dict[str, float]


@dataclass
class Threshold:
    metric: str
    lower_bound: Optional[float] = None
    upper_bound: Optional[float] = None
    # Allowed change against the baseline model (TFMA: negative for higher-is-better).
    change: Optional[float] = None
    higher_is_better: Optional[bool] = None

    def describe(self) -> str:
        parts = []
        if self.lower_bound is not None:
            parts.append(f'{self.metric} >= {self.lower_bound:g}')
        if self.upper_bound is not None:
            parts.append(f'{self.metric} <= {self.upper_bound:g}')
        if self.change is not None:
            worse = 'lower' if self.higher_is_better else 'higher'
            parts.append(f'at most {abs(self.change):g} {worse} than the baseline model')
        return ', and '.join(parts) or self.metric


@dataclass
class Evaluation:
    slices: Dict[str, List[SliceMetrics]]  # by model: candidate, baseline (when there was one)
    thresholds: List[Threshold]
    validation_ok: Optional[bool]
    failures: List[str]


def slice_name(slice_key: tuple) -> str:
    if not slice_key:
        return 'Overall'
    return ', '.join(f'{k} = {v.decode() if isinstance(v, bytes) else v}' for k, v in slice_key)


def _model_slices(result) -> List[SliceMetrics]:
    """Every slice's metrics of one model's ``tfma.EvalResult``."""
    out = []
    for slice_key, by_output in result.slicing_metrics:
        values = {}
        for sub_keys in by_output.values():
            for metrics in sub_keys.values():
                for name, value in metrics.items():
                    number = value.get('doubleValue') if isinstance(value, dict) else None
                    # TFMA's post-export metrics repeat the model's, but for its example count.
                    if number is not None and (name == POST_EXPORT_EXAMPLE_COUNT
                                               or not name.startswith('post_export_metrics/')):
                        values[name] = float(number)
        values = with_example_count(values)
        values.pop(POST_EXPORT_EXAMPLE_COUNT, None)
        out.append(SliceMetrics(slice_name(slice_key), values))
    # Overall first, then slices by name.
    return sorted(out, key=lambda s: (s.slice != 'Overall', s.slice))


def _models(evaluation_uri: str) -> List[str]:
    """The model names a TFMA evaluation holds ('' when it evaluated one model)."""
    import tensorflow_model_analysis as tfma

    names = set()
    for record in tfma.load_metrics(evaluation_uri):
        for kv in record.metric_keys_and_values:
            names.add(kv.key.model_name)
    return sorted(names)


def read_evaluation(evaluation_uri: str) -> Evaluation:
    """Every metric, overall and per slice, for the candidate and (if any) the baseline model,
    with the gate's thresholds as the Evaluator applied them and its verdict."""
    import tensorflow_model_analysis as tfma

    models = _models(evaluation_uri)
    # With a baseline, TFMA names the models; alone, the candidate has no name.
    names = {CANDIDATE: CANDIDATE if CANDIDATE in models else None}
    if CANDIDATE in models and BASELINE in models:
        names[BASELINE] = BASELINE
    results = {model: tfma.load_eval_result(evaluation_uri, model_name=name) for model, name in names.items()}
    slices = {model: _model_slices(result) for model, result in results.items()}
    config = results[CANDIDATE].config
    thresholds = []
    for spec in config.metrics_specs:
        for metric, per_slice in spec.per_slice_thresholds.items():
            for entry in per_slice.thresholds:
                thresholds.append(_threshold(metric, entry.threshold))
        for metric, threshold in spec.thresholds.items():
            thresholds.append(_threshold(metric, threshold))
        # TFMA's own metrics (the modern stack's) carry theirs in their MetricConfig.
        for metric_config in spec.metrics:
            name = json.loads(metric_config.config or '{}').get('name', metric_config.class_name)
            for entry in metric_config.per_slice_thresholds:
                thresholds.append(_threshold(name, entry.threshold))
            if metric_config.HasField('threshold'):
                thresholds.append(_threshold(name, metric_config.threshold))
    validation_ok, failures = None, []
    if os.path.exists(os.path.join(evaluation_uri, 'validations.tfrecord')):
        validation = tfma.load_validation_result(evaluation_uri)
        validation_ok = validation.validation_ok
        for per_slice in validation.metric_validations_per_slice:
            for failure in per_slice.failures:
                failures.append(f'{failure.metric_key.name}: {failure.message}')
    return Evaluation(slices, thresholds, validation_ok, failures)


def _threshold(metric: str, threshold) -> Threshold:
    import tensorflow_model_analysis as tfma

    out = Threshold(metric)
    value = threshold.value_threshold
    if value.HasField('lower_bound'):
        out.lower_bound = value.lower_bound.value
    if value.HasField('upper_bound'):
        out.upper_bound = value.upper_bound.value
    change = threshold.change_threshold
    if change.HasField('absolute'):
        out.change = change.absolute.value
        out.higher_is_better = change.direction == tfma.MetricDirection.HIGHER_IS_BETTER
    elif value.HasField('lower_bound') or value.HasField('upper_bound'):
        out.higher_is_better = value.HasField('lower_bound')
    return out


# ---- the pushed model ----

@dataclass
class TensorSpec:
    name: str
    dtype: str
    shape: str


@dataclass
class Signature:
    name: str
    method: str
    inputs: List[TensorSpec]
    outputs: List[TensorSpec]


def signatures(saved_model_dir: str) -> List[Signature]:
    """The serving signatures of a SavedModel, read from its saved_model.pb without loading it."""
    import tensorflow as tf
    from tensorflow.core.protobuf import saved_model_pb2

    path = Path(saved_model_dir) / 'saved_model.pb'
    model = saved_model_pb2.SavedModel.FromString(path.read_bytes())
    out = []
    for name, signature in sorted(model.meta_graphs[0].signature_def.items()):
        if name.startswith('__'):
            continue  # TF's internal signatures (__saved_model_init_op)
        out.append(Signature(name, signature.method_name, _tensors(signature.inputs, tf),
                             _tensors(signature.outputs, tf)))
    return out


def _tensors(infos, tf) -> List[TensorSpec]:
    specs = []
    for key, info in sorted(infos.items()):
        dims = ['None' if d.size < 0 else str(d.size) for d in info.tensor_shape.dim]
        shape = 'unknown' if info.tensor_shape.unknown_rank else f'[{", ".join(dims)}]'
        specs.append(TensorSpec(key, tf.dtypes.as_dtype(info.dtype).name, shape))
    return specs
