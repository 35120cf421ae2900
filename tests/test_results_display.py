"""Publishing a result at the end of a notebook cell shows nothing in the report."""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from pack_harness import _shell  # noqa: E402

from toolkit.results import PublishedPath, RunResults  # noqa: E402


def test_the_path_a_publish_returns_is_a_path_that_displays_nothing(tmp_path):
    from IPython.utils.capture import capture_output

    shell = _shell()
    shell.reset(new_session=False)
    shell.user_ns.update(RunResults=RunResults, pd=pd, run_dir=str(tmp_path))
    with capture_output() as cap:
        r = shell.run_cell('out = RunResults(run_dir, notebook="t")\nout.metrics("m", {"a": 1})', store_history=True)
    assert r.success and "PosixPath" not in cap.stdout and not cap.outputs
    path = RunResults(tmp_path, notebook="t").table("t", pd.DataFrame({"a": [1]}))
    assert isinstance(path, PublishedPath) and isinstance(path, Path) and path.exists()
    assert path.name == "t.parquet"
