"""The README and docs/ stay true: every link reaches a file and a heading, every quoted
``tke`` command parses with tke's own parser, quoted example code is the example's code,
and the README stays a ten-minute read."""

from __future__ import annotations

import re
import shlex
import textwrap
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest

from tests.conftest import REPO_ROOT
from tfx_keras_estimator.pipelines.app.cli import build_parser

DOCS = [REPO_ROOT / 'README.md', *sorted((REPO_ROOT / 'docs').glob('*.md'))]
README_MAX_LINES = 350


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r'[^\w\- ]', '', heading.strip().lower()).replace(' ', '-')


def _anchors(path: Path) -> set:
    text = re.sub(r'```.*?```', '', path.read_text(), flags=re.S)
    return {_anchor(m) for m in re.findall(r'(?m)^#+ (.*)$', text)}


def _links() -> Iterator[Tuple[Path, str]]:
    for doc in DOCS:
        text = re.sub(r'```.*?```', '', doc.read_text(), flags=re.S)
        for target in re.findall(r'\]\(([^)\s]+)\)', text):
            if not re.match(r'[a-z]+://', target):
                yield doc, target


@pytest.mark.parametrize('doc,target', list(_links()), ids=lambda x: x.name if isinstance(x, Path) else x)
def test_every_link_reaches_a_file_and_a_heading(doc, target):
    path, _, anchor = target.partition('#')
    file = (doc.parent / path).resolve() if path else doc
    assert file.exists(), f'{doc.name}: {target} names no file'
    if anchor:
        assert anchor in _anchors(file), f'{doc.name}: {target}: no heading with that anchor in {file.name}'


def _commands() -> List[Tuple[str, List[str]]]:
    """Every ``tke ...`` command of the sh code blocks (continuation lines joined, comments cut)."""
    found = []
    for doc in DOCS:
        for block in re.findall(r'```sh\n(.*?)```', doc.read_text(), re.S):
            for line in block.replace('\\\n', ' ').splitlines():
                words = shlex.split(line, comments=True)
                if words and Path(words[0]).name == 'tke':
                    found.append((f'{doc.name}: {line.strip()}', words[1:]))
    return found


@pytest.mark.parametrize('where,argv', _commands(), ids=lambda x: x if isinstance(x, str) else '')
def test_every_quoted_command_parses(where, argv):
    try:
        build_parser().parse_args(argv)
    except SystemExit as e:
        pytest.fail(f'{where}: tke refuses it (exit {e.code})')


def test_quoted_example_code_is_the_examples():
    example = (REPO_ROOT / 'examples' / 'own_pipeline' / 'pipeline.py').read_text()
    flat = textwrap.dedent
    quoted = [block for doc in DOCS for block in
              re.findall(r'<!-- examples/own_pipeline/pipeline.py -->\n```python\n(.*?)```', doc.read_text(), re.S)]
    assert len(quoted) >= 2
    lines = [line.strip() for line in example.splitlines()]
    for block in quoted:
        body = [line.strip() for line in flat(block).strip().splitlines()]
        start = lines.index(body[0])
        assert lines[start:start + len(body)] == body


def test_the_readme_is_a_ten_minute_read():
    lines = len((REPO_ROOT / 'README.md').read_text().splitlines())
    assert lines <= README_MAX_LINES, f'README.md has {lines} lines; move detail to docs/ (at most {README_MAX_LINES})'
