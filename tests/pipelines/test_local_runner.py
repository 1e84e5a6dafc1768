from __future__ import annotations

import pytest

from components.recipes.registry import recipe_names
from pipelines.local_runner import (
    MULTI_PROCESSING_MIN_BYTES,
    LocalRunConfig,
    RunDirectoryBusy,
    beam_args,
    prepare,
    run_lock,
    run_paths,
)


def test_beam_mode_by_data_size():
    assert '--direct_running_mode=in_memory' in beam_args('auto', 10_000)
    assert '--direct_running_mode=multi_processing' in beam_args('auto', MULTI_PROCESSING_MIN_BYTES)
    assert '--direct_num_workers=0' in beam_args('multi_processing', 1)
    with pytest.raises(ValueError, match='unknown Beam mode'):
        beam_args('fast', 1)


def test_everything_under_one_run_directory(tmp_path):
    config, paths, summary = prepare(LocalRunConfig(recipe='taxi', output_dir=str(tmp_path / 'r')))
    for path in (config.pipeline_root, config.serving_dir, str(paths.metadata_path), str(paths.log_path)):
        assert path.startswith(str(tmp_path / 'r'))
    assert summary.rows == 15002
    assert run_paths(LocalRunConfig(recipe='taxi')).run_dir.parts[-2:] == ('runs', 'taxi')


def test_bad_settings_fail_before_running(tmp_path):
    known = ', '.join(sorted(recipe_names()))
    with pytest.raises(ValueError, match=f"unknown recipe 'nope'; known recipes: {known}$"):
        prepare(LocalRunConfig(recipe='nope'))
    with pytest.raises(ValueError, match='train steps must be at least 1'):
        prepare(LocalRunConfig(train_steps=0, output_dir=str(tmp_path)))


def test_a_second_run_into_a_busy_directory_is_refused(tmp_path):
    paths = run_paths(LocalRunConfig(output_dir=str(tmp_path)))
    with run_lock(paths):
        with pytest.raises(RunDirectoryBusy, match='in use by another run'):
            with run_lock(paths):
                pass
    with run_lock(paths):  # released again
        pass
