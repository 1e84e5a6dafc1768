"""The ``tke`` command line, run as a real process."""

from __future__ import annotations

from components.recipes.registry import recipe_names
from tests.conftest import run_tke


def test_recipes_lists_the_built_ins_and_how_to_name_others():
    result = run_tke('recipes')
    assert result.returncode == 0
    listing, _, how = result.stdout.partition('\n\n')
    names = [line.split()[0] for line in listing.splitlines()]
    assert names == list(recipe_names()) and names[:3] == ['housing', 'taxi', 'digits']
    assert '(default)' in result.stdout.splitlines()[0]
    assert 'my_pkg.recipes:CHURN' in how and 'recipe.toml' in how


def test_help_documents_the_options():
    result = run_tke('run', '--help')
    for option in ('--recipe', '--data', '--train-steps', '--eval-steps', '--output', '--verbose'):
        assert option in result.stdout


def test_unknown_recipe_is_a_clear_error(tmp_path):
    result = run_tke('run', '--recipe', 'penguins', '--output', str(tmp_path))
    assert result.returncode == 2
    assert f"unknown recipe 'penguins': not a built-in recipe ({', '.join(recipe_names())})" in result.stderr
    assert 'dotted path to a Recipe object' in result.stderr
    assert not (tmp_path / 'metadata.sqlite').exists()


def test_bad_data_is_refused_before_any_component_runs(tmp_path):
    data = tmp_path / 'data'
    data.mkdir()
    (data / 'houses.csv').write_text('crim,zn\n1,2\n')
    result = run_tke('run', '--data', str(data), '--output', str(tmp_path / 'run'))
    assert result.returncode == 2
    assert 'houses.csv: header lacks schema column(s)' in result.stderr
    assert not (tmp_path / 'run').exists()


def test_a_full_disk_is_named_with_the_run_directory(tmp_path):
    import errno

    from pipelines.cli import disk_full

    try:
        try:
            raise OSError(errno.ENOSPC, 'No space left on device', str(tmp_path / 'x'))
        except OSError as e:
            raise RuntimeError('Transform failed') from e
    except RuntimeError as e:
        message = disk_full(e, tmp_path)
    assert message.startswith(f'the file system of the run directory {tmp_path} is full (')
    assert 'tke gc' in message and '--output' in message
    assert disk_full(ValueError('bad value'), tmp_path) is None  # a roomy disk, another error
