"""What "local" means to every fast executor: Beam's own resolution of ``--runner``."""

from __future__ import annotations

import pytest

from tfx_keras_estimator.components import beam_runners
from tfx_keras_estimator.components.fast_evaluator.executor import fallback_reason
from tfx_keras_estimator.components.fast_example_gen.executor import processes_for

LOCAL_SPELLINGS = [
    [], ['--runner=DirectRunner'], ['--runner=direct'], ['--runner=DIRECT'], ['--runner=directrunner'],
    ['--runner=BundleBasedDirectRunner'], ['--runner=SwitchingDirect'], ['--runner=TestDirectRunner'],
    ['--runner=apache_beam.runners.direct.direct_runner.DirectRunner'],
    # The last --runner wins, as Beam's parser has it.
    ['--runner=DataflowRunner', '--runner=DirectRunner'],
]
REMOTE_SPELLINGS = [
    (['--runner=DataflowRunner', '--project=p'], 'DataflowRunner'),
    (['--runner=dataflow'], 'DataflowRunner'),
    (['--runner=FlinkRunner', '--flink_master=localhost:8081'], 'FlinkRunner'),
    (['--runner=flink'], 'FlinkRunner'),
    (['--runner=SparkRunner'], 'SparkRunner'),
    (['--runner=Spark'], 'SparkRunner'),
    (['--runner=PortableRunner', '--job_endpoint=embed'], 'PortableRunner'),
    (['--runner=portable'], 'PortableRunner'),
    (['--runner=apache_beam.runners.portability.flink_runner.FlinkRunner'], 'FlinkRunner'),
    (['--runner=my_company.beam.CustomRunner'], 'CustomRunner'),
    (['--runner=DirectRunner', '--runner=SparkRunner'], 'SparkRunner'),
]


@pytest.mark.parametrize('args', LOCAL_SPELLINGS, ids=lambda a: ' '.join(a) or 'none')
def test_local_spellings(args):
    assert beam_runners.runner_of(args).local and beam_runners.remote_runner(args) is None


@pytest.mark.parametrize('args,name', REMOTE_SPELLINGS, ids=lambda a: ' '.join(a) if isinstance(a, list) else a)
def test_remote_spellings(args, name):
    assert beam_runners.remote_runner(args) == name


def test_resolution_is_beams_own():
    """Every runner Beam knows resolves to the class Beam's own table names."""
    from apache_beam.options.pipeline_options import StandardOptions
    from apache_beam.runners import runner as beam_runner_module

    for name in StandardOptions.KNOWN_RUNNER_NAMES:
        assert beam_runners.resolve(name).path == beam_runner_module._RUNNER_MAP[name.lower()], name


def test_unknown_runner_named():
    with pytest.raises(ValueError, match='--runner=Dataflo: not a Beam runner'):
        beam_runners.runner_of(['--runner=Dataflo'])


@pytest.mark.parametrize('args,name', REMOTE_SPELLINGS[:9], ids=lambda a: ' '.join(a) if isinstance(a, list) else a)
def test_fast_executors_hand_off(args, name):
    """The decisions of the executors that do not run Beam's pipeline here to decide: ExampleGen's
    processes and the Evaluator's fallback. (StatisticsGen and Transform: the portable e2e test.)"""
    sizes = {f'/data/{i}.csv': 1 << 30 for i in range(4)}
    assert processes_for(args + ['--direct_running_mode=multi_processing', '--direct_num_workers=4'], sizes) == 1
    assert fallback_reason('{"model_specs": [{}]}', {}, args) == f'the Beam runner {name}'
    for local in LOCAL_SPELLINGS[:4]:
        assert processes_for(local + ['--direct_running_mode=multi_processing', '--direct_num_workers=4'],
                             sizes) == 4
