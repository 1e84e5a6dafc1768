"""The layout's rules, read from the source: dependencies point down and nothing imports in a circle.

Every import of ``tfx_keras_estimator`` in every module counts, the ones inside functions too
(a lazy import is still a dependency). Layers, top to bottom: the local application
(``pipelines.app``), the Kubeflow/Vertex runners (``kubeflow``), the pipeline definition
(``pipelines``), the recipes and custom components, the trainer, the schemas.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, List, Set

from tests.conftest import REPO_ROOT

NAMESPACE = 'tfx_keras_estimator'
FOLDERS = ('components', 'pipelines', 'kubeflow', 'schemas')
# Highest first: a module may import its own layer and the ones below it.
LAYERS = ('pipelines.app', 'kubeflow', 'pipelines', 'components', 'components.trainer', 'schemas')


def _modules() -> Dict[str, Path]:
    modules = {}
    for folder in FOLDERS:
        for path in (REPO_ROOT / folder).rglob('*.py'):
            parts = list(path.relative_to(REPO_ROOT).with_suffix('').parts)
            if parts[-1] == '__init__':
                parts.pop()
            modules['.'.join([NAMESPACE, *parts])] = path
    return modules


def _imports(path: Path, modules: Dict[str, Path]) -> Set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from package import module` imports the module; `from module import name`, the module.
            names = [f'{node.module}.{alias.name}' if f'{node.module}.{alias.name}' in modules else node.module
                     for alias in node.names]
        else:
            continue
        found.update(name for name in names if name in modules)
    return found


def _graph() -> Dict[str, Set[str]]:
    modules = _modules()
    return {name: _imports(path, modules) - {name} for name, path in modules.items()}


def _layer(module: str) -> int:
    relative = module[len(NAMESPACE) + 1:]
    # The most specific layer that holds the module.
    matches = [i for i, layer in enumerate(LAYERS) if relative == layer or relative.startswith(layer + '.')]
    return max(matches, key=lambda i: len(LAYERS[i]))


def test_the_modules_are_found():
    graph = _graph()
    assert f'{NAMESPACE}.pipelines.app.cli' in graph and f'{NAMESPACE}.schemas' in graph
    assert f'{NAMESPACE}.components.recipes.lookup' in graph[f'{NAMESPACE}.pipelines.config']


def test_dependencies_point_down():
    upward = [f'{module} -> {imported}' for module, imported_set in _graph().items() for imported in imported_set
              if _layer(imported) < _layer(module)]
    assert not upward, 'imports of a higher layer:\n' + '\n'.join(sorted(upward))


def test_no_import_circles():
    graph = _graph()
    circles: List[List[str]] = []
    state: Dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: List[str]) -> None:
        state[module] = 1
        for imported in sorted(graph[module]):
            if state.get(imported) == 1:
                circles.append(path[path.index(imported):] + [imported])
            elif imported not in state:
                visit(imported, path + [imported])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not circles, 'import circles:\n' + '\n'.join(' -> '.join(c) for c in circles)
