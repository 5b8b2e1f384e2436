#!/usr/bin/env python3
"""Check that a corpus-qa output directory loads with HuggingFace `datasets`.

Usage (with the venv python from scripts/setup.sh, i.e. $CORPUS_QA_PYTHON):

    hf_check.py <out_dir> [--files f1 f2 ...]

For each JSONL or Parquet file (given with --files, relative to out_dir or
absolute; default: every *.jsonl and *.parquet under out_dir, skipping anything
under a `.corpus-qa` dir) it runs ``datasets.load_dataset('json' | 'parquet',
data_files=<file>, split='train')``.
If out_dir has a README.md whose YAML front matter lists ``configs``, it also
runs ``datasets.load_dataset(out_dir, name=<config_name>)`` for each of them.

Prints ONE JSON object on stdout:

    {"ok": bool,
     "files":   {"<relpath>": {"ok": true, "rows": N, "columns": [...],
                               "features": {"col": "Value('string')", ...},
                               "first_row": {...} | null}
                 | {"ok": false, "error": "..."}},
     "configs": {"<name>": {"ok": true, "splits": {"train": {"rows": N,
                               "columns": [...], "features": {...},
                               "first_row": {...} | null}}}
                 | {"ok": false, "error": "..."}},
     "card_error": "...",           # only if README.md's YAML can't be read
     "error": "..."}                # only if out_dir is not a directory

Never raises on a bad file: errors are reported per file/config. Exit code 0
if everything loaded, 1 otherwise (2 for usage errors). Runs offline
(HF_DATASETS_OFFLINE=1, HF_HUB_OFFLINE=1) with a throw-away cache dir, so no
result is ever served from an earlier run's cache.
"""
from __future__ import annotations

import os
import sys
import tempfile

# Must be set before `datasets` / `huggingface_hub` are imported.
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

_TMP_ROOT = tempfile.mkdtemp(prefix="corpus-qa-hf-check-")
# Keep every HF cache (datasets, hub, modules) inside the throw-away dir.
os.environ["HF_HOME"] = _TMP_ROOT
os.environ["HF_DATASETS_CACHE"] = os.path.join(_TMP_ROOT, "datasets")
os.environ["HF_MODULES_CACHE"] = os.path.join(_TMP_ROOT, "modules")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import datetime  # noqa: E402
import decimal  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

SKIP_DIR = ".corpus-qa"
MAX_ERROR_CHARS = 4000
# datasets 5.2.0 can't load a zero-row split: with no declared features the
# json builder's schema inference hits StopIteration; with features declared in
# the card it fails with 'Instruction "train" corresponds to no data!'.
EMPTY_HINT = "no rows: datasets cannot load an empty split"


def _is_empty(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            for line in fh:
                if line.strip():
                    return False
        return True
    except OSError:
        return False


def _jsonable(value: Any) -> Any:
    """Make a datasets row JSON-serialisable (bytes, dates, numpy, ...)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (datetime.date, datetime.datetime, datetime.time, decimal.Decimal)):
        return str(value)
    if hasattr(value, "tolist"):  # numpy scalars/arrays
        return _jsonable(value.tolist())
    return str(value)


def _error(exc: BaseException, empty_hint: bool = False) -> str:
    msg = f"{type(exc).__name__}: {exc}"
    if not str(exc) and exc.__traceback__ is not None:
        import traceback

        last = traceback.extract_tb(exc.__traceback__)[-1]
        where = "/".join(Path(last.filename).parts[-3:])
        msg += f"(raised at {where}:{last.lineno} in {last.name})"
    cause = exc.__cause__ or exc.__context__
    if cause is not None and str(cause) and str(cause) not in msg:
        msg += f" (caused by {type(cause).__name__}: {cause})"
    if len(msg) > MAX_ERROR_CHARS:
        msg = msg[:MAX_ERROR_CHARS] + "..."
    if empty_hint:
        msg += f" [{EMPTY_HINT}]"
    return msg


def _text_digest(rows: Any) -> str:
    """sha256 over every string in every row, in column order (strings inside lists and dicts too).

    The Node side computes the same over the file it wrote (test/helpers/hf.ts), so equal digests
    mean every question, answer and text survived loading byte for byte.
    """
    h = hashlib.sha256()

    def feed(value: Any) -> None:
        if isinstance(value, str):
            h.update(value.encode("utf-8", "surrogatepass"))
            h.update(b"\x1f")
        elif isinstance(value, dict):
            for v in value.values():
                feed(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                feed(v)

    for row in rows:
        for v in row.values():
            feed(v)
        h.update(b"\x1e")
    return h.hexdigest()


def _describe(ds: Any) -> dict[str, Any]:
    rows = len(ds)
    return {
        "rows": rows,
        "columns": list(ds.column_names),
        "features": {name: str(feat) for name, feat in ds.features.items()},
        "first_row": _jsonable(ds[0]) if rows else None,
        "text_digest": _text_digest(ds),
    }


def _describe_streaming(ds: Any) -> dict[str, Any]:
    rows = list(ds)
    return {
        "rows": len(rows),
        "columns": list(ds.features.keys()) if ds.features is not None else None,
        "text_digest": _text_digest(rows),
    }


def _find_data_files(out_dir: Path) -> list[Path]:
    found: list[Path] = []
    for root, dirs, files in os.walk(out_dir):
        dirs[:] = sorted(d for d in dirs if d != SKIP_DIR)
        for name in sorted(files):
            if name.endswith(".jsonl") or name.endswith(".parquet"):
                found.append(Path(root) / name)
    return found


def _resolve_file(out_dir: Path, given: str) -> Path:
    p = Path(given)
    if p.is_absolute():
        return p
    if (out_dir / p).exists() or not p.exists():
        return out_dir / p
    return p.resolve()


def _key(out_dir: Path, path: Path, given: str | None = None) -> str:
    try:
        return path.resolve().relative_to(out_dir.resolve()).as_posix()
    except ValueError:
        return given if given is not None else str(path)


def _card_configs(out_dir: Path) -> tuple[list[str], str | None]:
    """Config names from README.md's YAML front matter: (names, error)."""
    readme = out_dir / "README.md"
    if not readme.is_file():
        return [], None
    try:
        text = readme.read_text(encoding="utf-8")
        lines = text.splitlines()
        if not lines or lines[0].strip() != "---":
            return [], None
        end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
        if end is None:
            return [], "README.md: YAML front matter has no closing '---'"
        import yaml  # a dependency of datasets

        meta = yaml.safe_load("\n".join(lines[1:end])) or {}
        if not isinstance(meta, dict):
            return [], "README.md: YAML front matter is not a mapping"
        configs = meta.get("configs") or []
        if not isinstance(configs, list):
            return [], "README.md: `configs` is not a list"
        names: list[str] = []
        for c in configs:
            if not isinstance(c, dict) or not c.get("config_name"):
                return names, f"README.md: config entry without config_name: {c!r}"
            names.append(str(c["config_name"]))
        return names, None
    except Exception as exc:  # noqa: BLE001
        return [], f"README.md: {_error(exc)}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("--files", nargs="*", default=None, help="JSONL or Parquet files to check (default: all under out_dir)")
    args = parser.parse_args(argv)

    out_dir = Path(args.out_dir)
    result: dict[str, Any] = {"ok": True, "files": {}, "configs": {}}
    if not out_dir.is_dir():
        result["ok"] = False
        result["error"] = f"not a directory: {out_dir}"
        print(json.dumps(result))
        return 1

    cache_dir = os.path.join(_TMP_ROOT, "datasets")
    # Anything datasets prints must not pollute our single JSON line on stdout.
    with contextlib.redirect_stdout(sys.stderr), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import datasets

        datasets.disable_progress_bars()
        datasets.logging.set_verbosity_error()
        try:
            datasets.disable_caching()  # no cache files for map/filter results
        except Exception:  # noqa: BLE001
            pass

        if args.files is None:
            targets = [(p, _key(out_dir, p)) for p in _find_data_files(out_dir)]
        else:
            targets = [(_resolve_file(out_dir, f), None) for f in args.files]
            targets = [(p, _key(out_dir, p, f)) for (p, _), f in zip(targets, args.files)]

        for path, key in targets:
            if not path.is_file():
                result["files"][key] = {"ok": False, "error": f"FileNotFoundError: {path}"}
                continue
            try:
                builder = "parquet" if path.suffix == ".parquet" else "json"
                ds = datasets.load_dataset(
                    builder, data_files=str(path.resolve()), split="train", cache_dir=cache_dir
                )
                result["files"][key] = {"ok": True, **_describe(ds)}
            except Exception as exc:  # noqa: BLE001
                result["files"][key] = {"ok": False, "error": _error(exc, _is_empty(path))}

        names, card_error = _card_configs(out_dir)
        if card_error:
            result["card_error"] = card_error
        for name in names:
            try:
                dd = datasets.load_dataset(str(out_dir.resolve()), name=name, cache_dir=cache_dir)
                streamed = datasets.load_dataset(str(out_dir.resolve()), name=name, streaming=True, cache_dir=cache_dir)
                result["configs"][name] = {
                    "ok": True,
                    "splits": {split: _describe(ds) for split, ds in dd.items()},
                    "streaming": {split: _describe_streaming(ds) for split, ds in streamed.items()},
                }
            except Exception as exc:  # noqa: BLE001
                result["configs"][name] = {
                    "ok": False,
                    "error": _error(exc, "corresponds to no data" in str(exc) or isinstance(exc, StopIteration)),
                }

    all_ok = (
        card_error is None
        and all(v["ok"] for v in result["files"].values())
        and all(v["ok"] for v in result["configs"].values())
    )
    result["ok"] = all_ok
    print(json.dumps(result, ensure_ascii=False, default=str))
    return 0 if all_ok else 1


if __name__ == "__main__":
    try:
        code = main(sys.argv[1:])
    finally:
        shutil.rmtree(_TMP_ROOT, ignore_errors=True)
    sys.exit(code)
