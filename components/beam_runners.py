"""Which Beam runner a component's ``beam_pipeline_args`` name, by Beam's own rules, and
whether it is the local DirectRunner (where the fast executors run) or not (where every
Beam step goes to that runner with TFX's executors or a Beam job of ours).

Beam resolves ``--runner`` case-insensitively, with or without the ``Runner`` suffix, or as
the dotted path of a ``PipelineRunner`` subclass; the last ``--runner`` given wins; none
means the DirectRunner. Every fast executor and the CLI ask this module, so that they
agree on what "local" means.
"""

from __future__ import annotations

import dataclasses
from typing import Optional, Sequence

from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

# Beam's names of its runners, lower-case, to their classes' dotted paths. Beam keeps the same
# table private (apache_beam.runners.runner._RUNNER_MAP); StandardOptions.KNOWN_RUNNER_NAMES is
# its public list, and each maps to one of these modules.
_MODULES = {
    'DataflowRunner': 'apache_beam.runners.dataflow.dataflow_runner',
    'TestDataflowRunner': 'apache_beam.runners.test',
    'BundleBasedDirectRunner': 'apache_beam.runners.direct.direct_runner',
    'DirectRunner': 'apache_beam.runners.direct.direct_runner',
    'SwitchingDirectRunner': 'apache_beam.runners.direct.direct_runner',
    'TestDirectRunner': 'apache_beam.runners.test',
    'InteractiveRunner': 'apache_beam.runners.interactive.interactive_runner',
    'FlinkRunner': 'apache_beam.runners.portability.flink_runner',
    'PortableRunner': 'apache_beam.runners.portability.portable_runner',
    'SparkRunner': 'apache_beam.runners.portability.spark_runner',
}
_KNOWN = {name.lower(): f'{_MODULES[name]}.{name}' for name in StandardOptions.KNOWN_RUNNER_NAMES if name in _MODULES}
# In-process runners of this machine: the fast executors' home. (The InteractiveRunner wraps
# another runner, the DirectRunner unless told otherwise: not counted as local, so that a runner
# it wraps is never skipped.)
LOCAL = frozenset(f'apache_beam.runners.direct.direct_runner.{name}'
                  for name in ('DirectRunner', 'BundleBasedDirectRunner', 'SwitchingDirectRunner')) | {
    'apache_beam.runners.test.TestDirectRunner'}


@dataclasses.dataclass(frozen=True)
class Runner:
    """A runner as the arguments name it (``given``) and as Beam resolves it (``path``)."""

    given: str
    path: str

    @property
    def name(self) -> str:
        """The class name: ``DataflowRunner``, ``DirectRunner``..."""
        return self.path.rsplit('.', 1)[-1]

    @property
    def local(self) -> bool:
        return self.path in LOCAL


def resolve(name: str) -> Runner:
    """``name`` as Beam resolves it: a known name (any case, ``Runner`` suffix optional) or a
    dotted class path. ValueError naming ``--runner`` for anything else."""
    lower = name.lower()
    path = _KNOWN.get(lower) or _KNOWN.get(lower + 'runner')
    if path is None:
        if '.' not in name.strip('.'):
            known = ', '.join(sorted(StandardOptions.KNOWN_RUNNER_NAMES))
            raise ValueError(f'--runner={name}: not a Beam runner; use one of {known} (any case, "Runner" '
                             'optional) or the dotted path of a PipelineRunner subclass')
        path = name
    return Runner(given=name, path=path)


def runner_of(beam_pipeline_args: Optional[Sequence[str]]) -> Runner:
    """The runner the arguments name (the last ``--runner`` wins; none: the DirectRunner)."""
    given = PipelineOptions(list(beam_pipeline_args or [])).view_as(StandardOptions).runner
    return resolve(given or 'DirectRunner')


def remote_runner(beam_pipeline_args: Optional[Sequence[str]]) -> Optional[str]:
    """The name of the runner the arguments name when it is not a local DirectRunner, else None:
    the one question each fast executor asks before it runs its fast path."""
    runner = runner_of(beam_pipeline_args)
    return None if runner.local else runner.name
