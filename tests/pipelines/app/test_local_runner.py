from __future__ import annotations

import json
from pathlib import Path

import pytest

from tfx_keras_estimator.components.recipes.lookup import get_recipe
from tfx_keras_estimator.components.trainer import stack
from tfx_keras_estimator.pipelines.app.local_runner import (
    PARALLEL_MIN_BYTES,
    LocalRunConfig,
    OtherStackRunDirectory,
    RunDirectoryBusy,
    RunPaths,
    beam_args,
    check_stack,
    existing_run,
    prepare,
    run_dir_stack,
    run_lock,
    run_paths,
    source_setup_file,
    stamp_stack,
)


def test_beam_mode_by_data_size():
    assert '--direct_running_mode=in_memory' in beam_args('auto', 10_000)
    threads = beam_args('auto', PARALLEL_MIN_BYTES)
    assert '--direct_running_mode=multi_threading' in threads and '--direct_num_workers=0' in threads
    assert '--direct_running_mode=in_memory' in beam_args('auto', PARALLEL_MIN_BYTES - 1)
    processes = beam_args('multi_processing', 1)
    assert '--direct_running_mode=multi_processing' in processes and '--direct_num_workers=0' in processes
    with pytest.raises(ValueError, match='unknown Beam mode'):
        beam_args('fast', 1)
    # A source checkout names its setup.py (Beam's way to ship the package); an installed wheel has none.
    setup = source_setup_file()
    assert setup is not None and setup.name == 'setup.py'
    assert f'--setup_file={setup}' in beam_args('auto', 1)


def test_everything_under_one_run_directory(tmp_path):
    config, paths, summary = prepare(LocalRunConfig(recipe='taxi', output_dir=str(tmp_path / 'r')))
    for path in (config.pipeline_root, config.serving_dir, str(paths.metadata_path), str(paths.log_path)):
        assert path.startswith(str(tmp_path / 'r'))
    assert summary.rows == 15002
    assert config.data_root == str(get_recipe('taxi').data_dir)


def test_the_default_run_directory_is_under_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run_paths(LocalRunConfig(recipe='taxi'), get_recipe('taxi')).run_dir == tmp_path / 'runs' / 'taxi'
    assert Path.cwd() == tmp_path


def test_bad_settings_fail_before_running(tmp_path):
    with pytest.raises(ValueError, match="unknown recipe 'nope': not a built-in recipe .*housing.*, nor a folder"):
        prepare(LocalRunConfig(recipe='nope'))
    with pytest.raises(ValueError, match='train_steps must be at least 1'):
        prepare(LocalRunConfig(pipeline={'train_steps': 0}, output_dir=str(tmp_path)))
    with pytest.raises(ValueError, match="recipe 'housing': its model_builder 'no_such_module_xyz.build' does "
                                         "not import: cannot import module 'no_such_module_xyz'"):
        prepare(LocalRunConfig(model_builder='no_such_module_xyz.build', output_dir=str(tmp_path)))
    assert not (tmp_path / 'pipeline').exists()


def test_a_second_run_into_a_busy_directory_is_refused(tmp_path):
    paths = run_paths(LocalRunConfig(output_dir=str(tmp_path)), get_recipe('housing'))
    with run_lock(paths):
        with pytest.raises(RunDirectoryBusy, match='in use by another run'):
            with run_lock(paths):
                pass
    with run_lock(paths):  # released again
        pass


PORTABLE = ['--runner=PortableRunner', '--job_endpoint=embed', '--environment_type=LOOPBACK']
DATAFLOW = ['--runner=dataflow', '--project=p', '--region=europe-west4', '--temp_location=gs://b/tmp']


def test_beam_args_leave_a_remote_runner_its_own_settings():
    # The DirectRunner's mode only where the runner is the local one, spelled as Beam allows.
    for local in ([], ['--runner=direct'], ['--runner=SwitchingDirectRunner'], ['--runner=DataflowRunner',
                                                                               '--runner=DirectRunner']):
        assert '--direct_running_mode=multi_processing' in beam_args('multi_processing', 1, local), local
    for remote in (PORTABLE, DATAFLOW, ['--runner=apache_beam.runners.portability.flink_runner.FlinkRunner']):
        assert not any(a.startswith('--direct_') for a in beam_args('auto', PARALLEL_MIN_BYTES, remote)), remote
    # A container image (or packages) of the user's own: ours would only add a staged sdist.
    assert not any(a.startswith('--setup_file') for a in beam_args('auto', 1, [*DATAFLOW, '--sdk_container_image=i']))
    assert f'--setup_file={source_setup_file()}' in beam_args('auto', 1, DATAFLOW)


def _beam_components(pipeline):
    """Component id -> the Beam arguments its executor gets (TFX puts the pipeline's first)."""
    return {c.id: list(c.executor_spec.beam_pipeline_args) for c in pipeline.components
            if hasattr(c.executor_spec, 'beam_pipeline_args')}


def test_beam_arg_reaches_every_beam_component_after_ours(tmp_path):
    from tfx_keras_estimator.pipelines.pipeline import create_pipeline

    config, _, _ = prepare(LocalRunConfig(recipe='housing', output_dir=str(tmp_path), pipeline={
        'canned_baseline': True, 'extra_beam_args': ['--direct_num_workers=3', '--save_main_session']}))
    components = _beam_components(create_pipeline(config))
    assert set(components) == {'CsvExampleGen', 'StatisticsGen', 'Transform', 'Evaluator', 'CannedComparison'}
    for node, args in components.items():
        # Ours first (the DirectRunner's, here 1 worker), the user's last: Beam takes the last one.
        assert args[-2:] == ['--direct_num_workers=3', '--save_main_session'], node
        assert args.index('--direct_num_workers=1') < args.index('--direct_num_workers=3'), node


def test_a_remote_runner_gets_no_direct_runner_settings(tmp_path):
    from tfx_keras_estimator.pipelines.pipeline import create_pipeline

    config, _, _ = prepare(LocalRunConfig(recipe='housing', output_dir=str(tmp_path),
                                          pipeline={'extra_beam_args': PORTABLE}))
    assert config.runner.name == 'PortableRunner' and not config.runner.local
    for node, args in _beam_components(create_pipeline(config)).items():
        assert args[-3:] == PORTABLE, node
        assert not any(a.startswith('--direct_') for a in args), node


@pytest.mark.parametrize('extra, beam_mode, message', [
    (['runner=DataflowRunner'], 'auto', r"--beam-arg 'runner=DataflowRunner': a Beam argument is --name=value"),
    (['--runner'], 'auto', r"--beam-arg '--runner': Beam refuses it .*expected one argument.*--runner=VALUE"),
    (['--experiments', 'use_runner_v2'], 'auto', r"--beam-arg '--experiments': .*--experiments=VALUE"),
    (['--no_such_switch'], 'auto', r"--beam-arg '--no_such_switch': not a switch Beam knows"),
    (['--save_main_session=true'], 'auto', r"--beam-arg '--save_main_session=true': Beam refuses it"),
    (['--runner=Dataflo'], 'auto', r'--beam-arg: --runner=Dataflo: not a Beam runner'),
    (PORTABLE, 'multi_processing', r'--beam-mode multi_processing is a mode of the local DirectRunner'),
])
def test_bad_beam_args_fail_before_the_data_is_read(tmp_path, extra, beam_mode, message):
    with pytest.raises(ValueError, match=message):
        # No such data folder: the Beam arguments are refused before it is looked at.
        prepare(LocalRunConfig(recipe='housing', data_dir=str(tmp_path / 'none'), output_dir=str(tmp_path),
                               beam_mode=beam_mode, pipeline={'extra_beam_args': extra}))


def test_pipeline_settings_are_pipeline_configs_own_and_unknown_ones_are_named():
    with pytest.raises(ValueError, match=r"unknown pipeline settings \['train_stepz'\]"):
        LocalRunConfig(pipeline={'train_stepz': 5})
    with pytest.raises(ValueError, match=r"unknown pipeline settings \['serving_dir'\]"):
        LocalRunConfig(pipeline={'serving_dir': '/x'})  # derived from the run directory


def _other_stack() -> str:
    return stack.LEGACY if stack.current() == stack.MODERN else stack.MODERN


@pytest.mark.both_stacks
def test_a_run_directory_of_the_other_stack_is_refused_before_anything_is_written(tmp_path):
    run_dir = tmp_path / 'r'
    run_dir.mkdir()
    paths = RunPaths(run_dir)
    paths.stack_path.write_text(json.dumps({'stack': _other_stack()}))
    with pytest.raises(OtherStackRunDirectory, match=f'run directory {run_dir} belongs to the {_other_stack()} '
                                                     f'stack .*this is the {stack.current()} stack'):
        prepare(LocalRunConfig(recipe='housing', output_dir=str(run_dir)))
    assert sorted(p.name for p in run_dir.iterdir()) == [paths.stack_path.name]
    paths.metadata_path.write_bytes(b'')  # what the read-only commands look for first
    with pytest.raises(OtherStackRunDirectory, match=stack.HOW_TO[_other_stack()].replace('(', r'\(').replace(
            ')', r'\)')):
        existing_run(run_dir)


@pytest.mark.both_stacks
def test_a_new_run_directory_is_stamped_with_this_stack_and_an_unstamped_store_is_the_legacy_stacks(tmp_path):
    paths = RunPaths(tmp_path / 'r')
    paths.run_dir.mkdir()
    assert run_dir_stack(paths) is None
    check_stack(paths)  # a new one is anyone's
    stamp_stack(paths)
    assert run_dir_stack(paths) == stack.current()
    check_stack(paths)
    unstamped = RunPaths(tmp_path / 'old')
    unstamped.run_dir.mkdir()
    unstamped.metadata_path.write_bytes(b'')  # a store from before the modern stack: the legacy stack wrote it
    assert run_dir_stack(unstamped) == stack.LEGACY
