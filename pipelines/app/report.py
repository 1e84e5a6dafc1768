"""What a pipeline run did, read back from ML Metadata (the source of truth TFX writes)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

import tensorflow_model_analysis as tfma
from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from tfx_keras_estimator.components.trainer.config import CUSTOM_CONFIG_KEY
from tfx_keras_estimator.pipelines.config import CANNED_COMPARISON_ID, CANNED_TRAINER_ID, EVALUATOR_ID, TRAINER_ID

SIDE_NODES = (CANNED_TRAINER_ID, CANNED_COMPARISON_ID)

_STATE_NAMES = {
    metadata_store_pb2.Execution.COMPLETE: 'complete',
    metadata_store_pb2.Execution.CACHED: 'cached',
    metadata_store_pb2.Execution.FAILED: 'failed',
    metadata_store_pb2.Execution.RUNNING: 'running',
    metadata_store_pb2.Execution.NEW: 'new',
    metadata_store_pb2.Execution.CANCELED: 'canceled',
}


@dataclass
class ComponentRun:
    node_id: str
    state: str
    # Milliseconds since the epoch, as MLMD records them.
    start_ms: int = 0
    end_ms: int = 0
    # The execution's properties (TFX's exec properties: custom_config, eval_config, ...).
    properties: Dict[str, object] = field(default_factory=dict)
    # Output artifact URIs by artifact type name (Examples, ExampleStatistics, Model, ...).
    outputs: Dict[str, List[str]] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return (self.end_ms - self.start_ms) / 1000.0


@dataclass
class RunReport:
    """One pipeline run: component states and times, eval metrics, blessing, push."""

    run_id: str
    pipeline_name: str = ''
    # When the run's context was created (ms since the epoch).
    created_ms: int = 0
    components: List[ComponentRun] = field(default_factory=list)
    metrics: Dict[str, float] = field(default_factory=dict)
    blessed: Optional[bool] = None
    pushed: Optional[bool] = None
    pushed_model: Optional[str] = None
    model_uri: Optional[str] = None
    model_run_uri: Optional[str] = None
    evaluation_uri: Optional[str] = None
    # With --canned-baseline: the comparison Evaluator's output, and both models' metrics.
    comparison_uri: Optional[str] = None
    canned_metrics: Dict[str, float] = field(default_factory=dict)
    keras_metrics_vs_canned: Dict[str, float] = field(default_factory=dict)
    # Where the recipe lists candidate models: TFX's Tuner's output (tuner_results.json: one
    # row per candidate, its index and score), best first, as the Tuner writes them.
    tuner_results_uri: Optional[str] = None

    @property
    def candidate_scores(self) -> List[Dict[str, Any]]:
        """The Tuner's rows (``candidate``, ``score``), best first; [] without a Tuner."""
        if not self.tuner_results_uri:
            return []
        path = os.path.join(self.tuner_results_uri, 'tuner_results.json')
        return json.loads(Path(path).read_text()) if os.path.isfile(path) else []

    def state_of(self, node_id: str) -> Optional[str]:
        return next((c.state for c in self.components if c.node_id == node_id), None)

    @property
    def cached(self) -> List[str]:
        """The components that came from the cache."""
        return [c.node_id for c in self.components if c.state == 'cached']

    @property
    def failed_at(self) -> Optional[str]:
        """The first component that failed, or None."""
        return next((c.node_id for c in self.components if c.state == 'failed'), None)

    @property
    def pushed_version(self) -> Optional[str]:
        """The serving version folder this run pushed (or reused from the cache), or None."""
        return os.path.basename(self.pushed_model) if self.pushed and self.pushed_model else None

    def component(self, node_id: str) -> Optional[ComponentRun]:
        return next((c for c in self.components if c.node_id == node_id), None)

    def json_property(self, node_id: str, name: str) -> Dict[str, object]:
        """An execution property TFX stores as JSON (custom_config, eval_config, train_args), or {}."""
        component = self.component(node_id)
        text = component.properties.get(name) if component else None
        try:
            value = json.loads(text) if isinstance(text, str) else None
        except json.JSONDecodeError:
            return {}
        return value if isinstance(value, dict) else {}

    @property
    def trainer_settings(self) -> Dict[str, object]:
        """Our Trainer's TrainerConfig as the run stored it (name, mode, task, hparams), or {}."""
        config = self.json_property(TRAINER_ID, 'custom_config')
        settings = config.get(CUSTOM_CONFIG_KEY, {})
        return settings if isinstance(settings, dict) else {}

    @property
    def gated_metric(self) -> Optional[str]:
        """The metric the gating Evaluator's thresholds are on, from its stored eval_config."""
        for spec in self.json_property(EVALUATOR_ID, 'eval_config').get('metrics_specs', []):
            names = [*spec.get('per_slice_thresholds', {}), *spec.get('thresholds', {})]
            # TFMA's own metrics (the modern stack's) carry theirs in their MetricConfig.
            names += [json.loads(metric.get('config') or '{}').get('name') for metric in spec.get('metrics', [])
                      if metric.get('per_slice_thresholds') or metric.get('threshold')]
            if names:
                return names[0]
        return None

    def output(self, node_id: str, type_name: str) -> Optional[str]:
        """The URI of ``node_id``'s first output of ``type_name`` in this run, or None."""
        component = self.component(node_id)
        uris = component.outputs.get(type_name, []) if component else []
        return uris[0] if uris else None


def _prop(artifact: metadata_store_pb2.Artifact, name: str):
    value = artifact.custom_properties.get(name) or artifact.properties.get(name)
    if value is None:
        return None
    return value.int_value if value.HasField('int_value') else value.string_value


def _value(value: metadata_store_pb2.Value) -> object:
    kind = value.WhichOneof('value')
    return getattr(value, kind) if kind in ('int_value', 'double_value', 'string_value', 'bool_value') else None


def pipeline_names(metadata_path: str) -> List[str]:
    """The pipelines with runs in the SQLite store at ``metadata_path`` (one per run directory, normally)."""
    store = _open_readonly(metadata_path)
    return sorted(c.name for c in store.get_contexts_by_type('pipeline'))


CANDIDATE = 'candidate'
BASELINE = 'baseline'


EXAMPLE_COUNT = 'example_count'
# TFMA's own count of an EvalSavedModel's examples, which the pipelines' eval configs use
# instead of an ExampleCount metric (tfx_keras_estimator.pipelines.pipeline.eval_config).
POST_EXPORT_EXAMPLE_COUNT = 'post_export_metrics/example_count'


def with_example_count(metrics: Dict[str, float]) -> Dict[str, float]:
    """``metrics`` with 'example_count' from TFMA's post-export count where no metric gave one."""
    if EXAMPLE_COUNT not in metrics and POST_EXPORT_EXAMPLE_COUNT in metrics:
        return {**metrics, EXAMPLE_COUNT: metrics[POST_EXPORT_EXAMPLE_COUNT]}
    return metrics


def overall_metrics(evaluation_uri: str, model: str = CANDIDATE) -> Dict[str, float]:
    """One model's overall-slice metrics of a TFMA evaluation, by metric name.

    With a baseline, TFMA stores the candidate's, the baseline's and their
    differences under the same metric names; ``model`` picks one model's values.
    """
    for record in tfma.load_metrics(evaluation_uri):
        if not record.slice_key.single_slice_keys:
            # Without a baseline, the only model has no name.
            return with_example_count({
                kv.key.name: kv.value.double_value.value for kv in record.metric_keys_and_values
                if kv.value.HasField('double_value') and not kv.key.is_diff
                and kv.key.model_name in (model, '' if model == CANDIDATE else model)})
    return {}


def _open_readonly(metadata_path: str) -> metadata_store.MetadataStore:
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = metadata_path
    config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
    return metadata_store.MetadataStore(config)


def _run_contexts(store: metadata_store.MetadataStore, pipeline_name: str) -> List[metadata_store_pb2.Context]:
    """The pipeline_run contexts holding executions of ``pipeline_name``, oldest first."""
    pipeline_ctx = store.get_context_by_type_and_name('pipeline', pipeline_name)
    if pipeline_ctx is None:
        return []
    pipeline_executions = {e.id for e in store.get_executions_by_context(pipeline_ctx.id)}
    runs = [c for c in store.get_contexts_by_type('pipeline_run')
            if any(e.id in pipeline_executions for e in store.get_executions_by_context(c.id))]
    return sorted(runs, key=lambda c: (c.create_time_since_epoch, c.id))


def all_runs(metadata_path: str, pipeline_name: str) -> List[RunReport]:
    """Every run of ``pipeline_name`` in the SQLite store at ``metadata_path``, oldest first."""
    store = _open_readonly(metadata_path)
    return [_run_report(store, run, pipeline_name) for run in _run_contexts(store, pipeline_name)]


def latest_run(metadata_path: str, pipeline_name: str) -> Optional[RunReport]:
    """The most recent run of ``pipeline_name``, or None (only that run's report is built)."""
    store = _open_readonly(metadata_path)
    runs = _run_contexts(store, pipeline_name)
    return _run_report(store, runs[-1], pipeline_name) if runs else None


def _run_report(store: metadata_store.MetadataStore, run: metadata_store_pb2.Context,
                pipeline_name: str) -> RunReport:
    report = RunReport(run_id=run.name, pipeline_name=pipeline_name, created_ms=run.create_time_since_epoch)
    executions = sorted(store.get_executions_by_context(run.id), key=lambda e: e.create_time_since_epoch)
    prefix = pipeline_name + '.'
    for execution in executions:
        node = next((c.name for c in store.get_contexts_by_execution(execution.id)
                     if c.name.startswith(prefix)), str(execution.id))
        node_id = node[len(prefix):] if node.startswith(prefix) else node
        component = ComponentRun(
            node_id, _STATE_NAMES.get(execution.last_known_state, 'unknown'),
            start_ms=execution.create_time_since_epoch, end_ms=execution.last_update_time_since_epoch,
            properties={k: _value(v) for k, v in [*execution.properties.items(),
                                                   *execution.custom_properties.items()]})
        report.components.append(component)
        outputs = [ev.artifact_id for ev in store.get_events_by_execution_ids([execution.id])
                   if ev.type in (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT)]
        for artifact in store.get_artifacts_by_id(outputs):
            type_name = store.get_artifact_types_by_id([artifact.type_id])[0].name
            component.outputs.setdefault(type_name, []).append(artifact.uri)
            if node_id in SIDE_NODES:
                # The canned baseline's model and comparison are not the run's model and verdict.
                if type_name == 'ModelEvaluation' and node_id == CANNED_COMPARISON_ID:
                    report.comparison_uri = artifact.uri
                continue
            if type_name == 'ModelEvaluation':
                report.evaluation_uri = artifact.uri
            elif type_name == 'ModelBlessing':
                report.blessed = _prop(artifact, 'blessed') == 1
            elif type_name == 'PushedModel':
                report.pushed = _prop(artifact, 'pushed') == 1
                report.pushed_model = _prop(artifact, 'pushed_destination') or None
            elif type_name == 'Model':
                report.model_uri = artifact.uri
            elif type_name == 'ModelRun':
                report.model_run_uri = artifact.uri
            elif type_name == 'TunerResults':
                report.tuner_results_uri = artifact.uri
    if report.evaluation_uri:
        report.metrics = overall_metrics(report.evaluation_uri)
    if report.comparison_uri:
        report.keras_metrics_vs_canned = overall_metrics(report.comparison_uri, CANDIDATE)
        report.canned_metrics = overall_metrics(report.comparison_uri, BASELINE)
    return report
