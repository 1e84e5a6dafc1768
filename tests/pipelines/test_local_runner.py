from __future__ import annotations

from pathlib import Path

import pytest

from components.recipes.registry import get_recipe
from pipelines.local_runner import (
    PARALLEL_MIN_BYTES,
    LocalRunConfig,
    RunDirectoryBusy,
    beam_args,
    prepare,
    run_lock,
    run_paths,
    source_setup_file,
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
        prepare(LocalRunConfig(train_steps=0, output_dir=str(tmp_path)))
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
