"""``tke gc``: remove the artifacts of all but the last N runs of a run directory, keeping MLMD consistent.

TFX has no retention: every run that is not fully cached adds artifacts for good. What goes
is every artifact of the pipeline's executions that nothing kept needs; what stays:

- every artifact a kept run read or wrote (a cached execution of a kept run points at the
  artifacts of the run that made them, so those stay too);
- the Model (and ModelRun) of every model still in ``serving/``;
- the latest blessed model and its blessing (the next run's Evaluator baseline).

Removed artifacts' files are deleted and the artifacts marked DELETED in the metadata store,
so TFX never resolves them as inputs (its channel resolution takes LIVE artifacts only) nor
as cache hits (a cache hit needs its output files).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Set

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from tfx_keras_estimator.pipelines.app.local_runner import RunPaths, existing_run

OUTPUTS = (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT)


@dataclass
class Removal:
    artifact_id: int
    type_name: str
    uri: str
    bytes: int


@dataclass
class GcPlan:
    runs: int
    kept_runs: List[str]
    removals: List[Removal] = field(default_factory=list)
    kept_artifacts: int = 0

    @property
    def bytes(self) -> int:
        return sum(r.bytes for r in self.removals)


def _size(uri: str) -> int:
    path = Path(uri)
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob('*') if f.is_file())


def _open(metadata_path: Path, readonly: bool) -> metadata_store.MetadataStore:
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = str(metadata_path)
    config.sqlite.connection_mode = (metadata_store_pb2.SqliteMetadataSourceConfig.READONLY if readonly else
                                     metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE)
    return metadata_store.MetadataStore(config)


def _prop(artifact: metadata_store_pb2.Artifact, name: str):
    value = artifact.custom_properties.get(name) or artifact.properties.get(name)
    if value is None:
        return None
    return value.int_value if value.HasField('int_value') else value.string_value


def _events_by_execution(store, execution_ids: Iterable[int]) -> Dict[int, List[metadata_store_pb2.Event]]:
    out: Dict[int, List[metadata_store_pb2.Event]] = {}
    for event in store.get_events_by_execution_ids(list(execution_ids)):
        out.setdefault(event.execution_id, []).append(event)
    return out


def plan_gc(run_dir: Path, keep: int) -> GcPlan:
    """What ``gc --keep`` would remove (nothing is changed)."""
    if keep < 1:
        raise ValueError(f'--keep must be at least 1, got {keep}: the latest run is always kept')
    store = _open(existing_run(run_dir).metadata_path, readonly=True)
    runs = sorted(store.get_contexts_by_type('pipeline_run'), key=lambda c: (c.create_time_since_epoch, c.id))
    kept_runs = runs[-keep:]
    executions = {e.id: e for e in store.get_executions()}
    events = _events_by_execution(store, executions)
    protected: Set[int] = set()
    for run in kept_runs:
        for execution in store.get_executions_by_context(run.id):
            protected.update(ev.artifact_id for ev in events.get(execution.id, []))
    artifacts = {a.id: a for a in store.get_artifacts()}
    types = {t.id: t.name for t in store.get_artifact_types()}
    producer = {ev.artifact_id: ev.execution_id for evs in events.values() for ev in evs if ev.type in OUTPUTS}

    def protect_with_siblings(artifact_id: int) -> None:
        # A Model goes with its ModelRun (checkpoints, events): the Trainer execution's outputs.
        execution = producer.get(artifact_id)
        protected.add(artifact_id)
        if execution is not None:
            protected.update(ev.artifact_id for ev in events.get(execution, []) if ev.type in OUTPUTS)

    serving = run_dir / 'serving'
    for artifact in artifacts.values():
        if types.get(artifact.type_id) == 'PushedModel' and _prop(artifact, 'pushed') == 1:
            destination = _prop(artifact, 'pushed_destination') or ''
            if destination and Path(destination).exists() and Path(destination).parent == serving:
                pusher = producer.get(artifact.id)
                protected.add(artifact.id)
                for ev in events.get(pusher, []):
                    if ev.type == metadata_store_pb2.Event.INPUT and types.get(
                            artifacts[ev.artifact_id].type_id) == 'Model':
                        protect_with_siblings(ev.artifact_id)
    blessings = sorted((a for a in artifacts.values() if types.get(a.type_id) == 'ModelBlessing'
                        and _prop(a, 'blessed') == 1 and a.state == metadata_store_pb2.Artifact.LIVE),
                       key=lambda a: (a.create_time_since_epoch, a.id))
    if blessings:
        latest = blessings[-1]
        protected.add(latest.id)
        evaluator = producer.get(latest.id)
        for ev in events.get(evaluator, []):
            if ev.type == metadata_store_pb2.Event.INPUT and ev.path.steps and ev.path.steps[0].key == 'model':
                protect_with_siblings(ev.artifact_id)
    plan = GcPlan(runs=len(runs), kept_runs=[r.name for r in kept_runs])
    for artifact in artifacts.values():
        if artifact.id in protected:
            plan.kept_artifacts += 1
            continue
        if artifact.state != metadata_store_pb2.Artifact.LIVE or not artifact.uri:
            continue
        if not Path(artifact.uri).resolve().is_relative_to(run_dir.resolve()):
            continue  # e.g. a schema file ImportSchemaGen took from a recipe: not ours to delete
        plan.removals.append(Removal(artifact.id, types.get(artifact.type_id, '?'), artifact.uri,
                                     _size(artifact.uri) if os.path.exists(artifact.uri) else 0))
    return plan


def apply_gc(run_dir: Path, plan: GcPlan) -> None:
    """Marks the planned artifacts DELETED in the store, then deletes their files."""
    store = _open(RunPaths(run_dir).metadata_path, readonly=False)
    artifacts = store.get_artifacts_by_id([r.artifact_id for r in plan.removals])
    for artifact in artifacts:
        artifact.state = metadata_store_pb2.Artifact.DELETED
    if artifacts:
        # First the store: an artifact whose files are gone must never look LIVE.
        store.put_artifacts(artifacts)
    for removal in plan.removals:
        path = Path(removal.uri)
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
