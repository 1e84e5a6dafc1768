"""The serving folder's versions: which are complete models, and setting aside those that are not.

TFX's Pusher copies a model into ``serving/<version>/`` file by file, ``saved_model.pb``
last; a Pusher killed mid-copy leaves a version folder without it, or with part of it.
TF Serving, and a client taking "the newest version", would pick that folder. Each
``tke run`` first moves such folders to ``serving-incomplete/`` beside ``serving/``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import List, Optional, Tuple

INCOMPLETE_DIR = 'serving-incomplete'


def incomplete_reason(version_dir: Path) -> Optional[str]:
    """Why ``version_dir`` is not a complete SavedModel, or None when it is."""
    from google.protobuf.message import DecodeError
    from tensorflow.core.protobuf import saved_model_pb2

    pb = version_dir / 'saved_model.pb'
    if not pb.is_file():
        return 'no saved_model.pb'
    try:
        model = saved_model_pb2.SavedModel.FromString(pb.read_bytes())
    except DecodeError as e:
        return f'saved_model.pb does not parse ({e})'
    if not model.meta_graphs:
        return 'saved_model.pb holds no graph'
    variables = version_dir / 'variables'
    if variables.is_dir() and not (variables / 'variables.index').is_file():
        return 'no variables/variables.index'
    return None


def versions(serving_dir: Path) -> List[Path]:
    """Numbered version folders, oldest first (TF Serving's order)."""
    if not serving_dir.is_dir():
        return []
    return sorted((p for p in serving_dir.iterdir() if p.is_dir() and p.name.isdigit()), key=lambda p: int(p.name))


def set_aside_incomplete(serving_dir: Path) -> List[Tuple[Path, str, Path]]:
    """Moves incomplete versions to ``serving-incomplete/``; returns (folder, reason, where it went)."""
    moved = []
    for version in versions(serving_dir):
        reason = incomplete_reason(version)
        if reason is None:
            continue
        target_dir = serving_dir.parent / INCOMPLETE_DIR
        target_dir.mkdir(exist_ok=True)
        target = target_dir / version.name
        if target.exists():
            shutil.rmtree(target)
        shutil.move(str(version), str(target))
        moved.append((version, reason, target))
    return moved


def newest_complete(serving_dir: Path) -> Optional[Path]:
    """The newest version that is a complete model (what a client should load)."""
    return next((v for v in reversed(versions(serving_dir)) if incomplete_reason(v) is None), None)
