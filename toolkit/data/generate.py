"""Generating a spec's files on first use (the built-in demo data), safely under parallel runs."""
from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import tempfile
from pathlib import Path

from toolkit.data.errors import SpecError
from toolkit.data.spec import DatasetSpec

GENERATOR_KEYS = {"name", "seed", "n_customers", "out", "start", "end", "regional_differences"}


def _code_fingerprint() -> str:
    """Hash of the generator's source, so data made by an older generator is regenerated."""
    h = hashlib.sha256()
    for f in sorted(Path(__file__).parent.glob("demo*.py")):
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _wanted(gen: dict) -> dict:
    return {k: v for k, v in gen.items() if k not in ("name", "out")}


def _is_current(out: Path, gen: dict) -> bool:
    truth = out / "ground_truth.json"
    if not truth.exists():
        return False
    try:
        recorded = json.loads(truth.read_text()).get("generator_args", {})
    except (OSError, ValueError):
        return False
    return all(recorded.get(k) == v for k, v in _wanted(gen).items()) and \
        recorded.get("code") == _code_fingerprint()


def ensure_generated(spec: DatasetSpec) -> Path:
    """Generate the spec's data into ``generator.out`` unless it is already there with the same settings."""
    gen = dict(spec.generator or {})
    unknown = set(gen) - GENERATOR_KEYS
    if unknown or gen.get("name") != "demo" or "out" not in gen:
        raise SpecError(f"generator must be {{name: demo, out: <folder>, seed, n_customers, ...}}; got {gen}",
                        file=str(spec.path))
    root = spec.path.parent if spec.path else Path.cwd()
    out = (root / str(gen["out"])).resolve()
    if _is_current(out, gen):
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.parent / f".{out.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _is_current(out, gen):
            return out
        from toolkit.data.demo import write_demo

        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
        try:
            kwargs = _wanted(gen)
            truth = write_demo(tmp, **kwargs)
            truth_path = tmp / "ground_truth.json"
            data = json.loads(truth_path.read_text()) if truth_path.exists() else dict(truth or {})
            data["generator_args"] = {**kwargs, "code": _code_fingerprint()}
            truth_path.write_text(json.dumps(data, indent=2, sort_keys=True))
            if out.exists():
                shutil.rmtree(out)
            tmp.rename(out)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return out
