"""Results store: journal, writer lock, identity, crash safety (real processes)."""

from __future__ import annotations

import json
import math
import os
import platform
import random
import signal
import stat
import time

import pytest
import yaml

from airmodel.evaluation.results import ResultsFolder, read_results
from airmodel.evaluation.store import FolderLockedError, Journal, JournalCorruptError

CFG = {"name": "t", "seed": 0, "out_dir": "x", "sweep": {"draws": 2}}
KEY = ("i",)


def _row(i: int) -> dict:
    """Deterministic synthetic row; every 7th has NaN/inf values."""
    odd = i % 7 == 3
    return {
        "i": i,
        "x": math.sin(i) / 3,
        "acc": math.nan if odd else (i % 10) / 10,
        "wnr_db": math.inf if odd else -float(i),
        "name": f"r{i}",
    }


def _write(path, n: int, views_every_s: float = 0.0) -> None:
    with ResultsFolder(path, CFG, KEY, views_every_s=views_every_s) as f:
        f.add_provenance({"pid": os.getpid()})
        f.set_meta(writer=os.getpid())
        for i in range(n):
            if not f.done(i=i):
                f.add(_row(i))


def _fork(fn, *args) -> int:
    """Run ``fn(*args)`` in a forked child (a real process); return its PID."""
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            fn(*args)
        except FolderLockedError:
            code = 3
        except BaseException:
            code = 1
        os._exit(code)
    return pid


def _wait(pid: int) -> int:
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def _same(a: list[dict], b: list[dict]) -> bool:
    """Rows equal, NaN equal to NaN."""
    return json.dumps(a) == json.dumps(b)


def test_rows_round_trip_and_results_json_is_standard(tmp_path):
    """N=30 rows with NaN/inf: journal exact; results.json parses strictly, nan as 'nan'."""
    _write(tmp_path, 30)
    _, rows = read_results(tmp_path)
    assert _same(rows, [_row(i) for i in range(30)])

    def refuse(tok):
        raise ValueError(tok)

    data = json.loads((tmp_path / "results.json").read_text(), parse_constant=refuse)
    assert data["rows"][3]["acc"] == "nan" and data["rows"][3]["wnr_db"] == "inf"
    assert len((tmp_path / "results.csv").read_text().splitlines()) == 31


def test_files_follow_the_umask_and_temporaries_are_cleaned(tmp_path):
    old = os.umask(0o022)
    try:
        (tmp_path / ".results.json.123.abcd.tmp").write_text("left by a kill")
        (tmp_path / ".config.yaml.xyz").write_text("old-style temporary")
        _write(tmp_path, 3)
    finally:
        os.umask(old)
    for n in ("config.yaml", "results.json", "results.csv", "rows.jsonl"):
        assert stat.S_IMODE((tmp_path / n).stat().st_mode) == 0o644, n
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert not (tmp_path / ".config.yaml.xyz").exists()


def test_torn_last_line_is_dropped_and_cut(tmp_path):
    _write(tmp_path, 5)
    j = tmp_path / "rows.jsonl"
    good = j.read_bytes()
    j.write_bytes(good + b'0badc0de {"row": {"i": 5, "x"')  # killed mid-write
    with ResultsFolder(tmp_path, CFG, KEY) as f:
        assert len(f.rows) == 5 and f.dropped_tail > 0
        f.add(_row(5))
    _, rows = read_results(tmp_path)
    assert _same(rows, [_row(i) for i in range(6)])


def test_corrupt_line_before_the_last_is_refused(tmp_path):
    _write(tmp_path, 5)
    j = tmp_path / "rows.jsonl"
    data = bytearray(j.read_bytes())
    data[20] ^= 0x04  # one flipped bit in the first line
    j.write_bytes(bytes(data))
    with pytest.raises(JournalCorruptError, match="line 1 is corrupt"):
        ResultsFolder(tmp_path, CFG, KEY)
    with pytest.raises(JournalCorruptError):
        Journal(j, write=False)


def test_moved_folder_resumes_and_provenance_gains_a_record(tmp_path):
    _write(tmp_path / "a", 4)
    (tmp_path / "a").rename(tmp_path / "b")
    moved = {**CFG, "out_dir": str(tmp_path / "b")}
    with ResultsFolder(tmp_path / "b", moved, KEY) as f:
        assert len(f.rows) == 4
        f.add_provenance({"pid": 0})
    records = json.loads((tmp_path / "b" / "provenance.json").read_text())
    assert [r["rows_at_start"] for r in records] == [0, 4]


def test_missing_config_with_rows_is_refused(tmp_path):
    _write(tmp_path, 2)
    (tmp_path / "config.yaml").unlink()
    with pytest.raises(ValueError, match="no config.yaml"):
        ResultsFolder(tmp_path, {**CFG, "seed": 9}, KEY)


def test_refused_config_leaves_folder_untouched(tmp_path):
    """A different config is refused before anything is written (provenance too)."""
    _write(tmp_path, 2)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(ValueError, match="different config"):
        ResultsFolder(tmp_path, {**CFG, "seed": 1}, KEY)
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name != ".lock"}
    assert after == {k: v for k, v in before.items() if k != ".lock"}


def test_old_seed_scheme_folder_is_refused(tmp_path):
    """A folder of the old layout (no store.json) holds seed+index draws: refused."""
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(CFG))
    (tmp_path / "results.json").write_text(json.dumps({"meta": {}, "rows": [{"i": 0}]}))
    with pytest.raises(ValueError, match="older airmodel.*seed scheme"):
        ResultsFolder(tmp_path, CFG, KEY)
    store = {"format": 1, "seed_scheme": "other", "key_fields": ["i"], "shard": None}
    (tmp_path / "store.json").write_text(json.dumps(store))
    with pytest.raises(ValueError, match="seed scheme 'other'"):
        ResultsFolder(tmp_path, CFG, KEY)


def _hold(path, seconds):
    with ResultsFolder(path, CFG, KEY):
        time.sleep(seconds)


def test_second_writer_is_refused_naming_pid_and_host(tmp_path):
    pid = _fork(_hold, tmp_path, 30)
    try:
        for _ in range(200):  # until the child holds the lock
            rec = (
                (tmp_path / ".lock").read_text()
                if (tmp_path / ".lock").exists()
                else ""
            )
            if str(pid) in rec:
                break
            time.sleep(0.02)
        with pytest.raises(FolderLockedError) as err:
            ResultsFolder(tmp_path, CFG, KEY)
        assert f"PID {pid}" in str(err.value) and platform.node() in str(err.value)
    finally:
        os.kill(pid, signal.SIGKILL)
        _wait(pid)
    # the holder died: its stale lock is taken over and recorded
    with ResultsFolder(tmp_path, CFG, KEY) as f:
        assert f.previous_writer["pid"] == pid


def test_two_concurrent_writers_one_refused_no_row_lost(tmp_path):
    """Two processes start writing 300 rows into one folder at once, 3 times."""
    for rep in range(3):
        path = tmp_path / str(rep)
        pids = [_fork(_write, path, 300, 0.01) for _ in range(2)]
        codes = sorted(_wait(p) for p in pids)
        # one wrote everything; the other was refused (3) or found all rows done (0)
        assert codes in ([0, 3], [0, 0]), codes
        _, rows = read_results(path)
        assert _same(rows, [_row(i) for i in range(300)])


def _kill_repeatedly(tmp_path, reps: int, seed: int) -> None:
    rnd = random.Random(seed)
    n = 200
    path = tmp_path / "k"
    kills = 0
    while True:
        pid = _fork(_write, path, n, 0.0)  # views rewritten after every row
        time.sleep(rnd.uniform(0.0, 0.05))
        if kills < reps:
            os.kill(pid, signal.SIGKILL)
            kills += 1
            _wait(pid)
            continue
        assert _wait(pid) == 0
        break
    _, rows = read_results(path)
    assert _same(rows, [_row(i) for i in range(n)])
    view = json.loads((path / "results.json").read_text())["rows"]
    assert [r["i"] for r in view] == list(range(n))
    assert not [p for p in path.iterdir() if p.name.endswith(".tmp")]
    assert len(json.loads((path / "provenance.json").read_text())) >= 1


def test_kill_9_at_random_moments_loses_nothing(tmp_path):
    """30 kill -9 at uniform random times in [0, 50] ms, then a full run: the 200
    rows equal an uninterrupted run's, views consistent, no temporary file left."""
    _kill_repeatedly(tmp_path, 30, seed=1)


def test_folder_without_rows_is_reused_by_a_corrected_config(tmp_path, capsys):
    """Issue #27 item 4: a run that failed before its first row (the folder exists,
    holds config.yaml and meta.json, no row) does not block its name; one line says
    the folder is reused, and the earlier run's facts are gone."""
    with ResultsFolder(tmp_path, CFG, KEY) as f:
        f.set_meta(clean_accuracy=0.1)  # then the run failed
    fixed = {**CFG, "seed": 9}
    with ResultsFolder(tmp_path, fixed, KEY) as f:
        assert f.reused == ["seed"] and f.meta == {}
        f.add(_row(0))
    err = capsys.readouterr().err
    assert "held no rows" in err and "reusing it" in err and len(err.splitlines()) == 1
    with pytest.raises(ValueError, match="different config"):  # now it holds a row
        ResultsFolder(tmp_path, CFG, KEY)


def test_folder_whose_rows_were_all_dropped_is_reused(tmp_path):
    """Rows dropped from the journal leave no rows: the folder is reusable."""
    with ResultsFolder(tmp_path, CFG, KEY) as f:
        f.add(_row(0))
        f.drop(i=0)
    with ResultsFolder(tmp_path, {**CFG, "seed": 9}, KEY) as f:
        assert f.reused == ["seed"]


def test_config_yaml_records_portable_paths_and_runs_after_a_move(
    tmp_path, monkeypatch
):
    """Issue #27 item 6: a results folder's config.yaml names a bundled checkpoint as
    ``bundled:checkpoints/FILE`` and any other input path relative to the folder, so
    load_config of that file finds the same files, also after folder and data move
    together; reopening with the resolved config resumes."""
    import shutil

    from airmodel.config import load_config, to_dict
    from airmodel.resources import bundled_dir

    bundled = sorted(bundled_dir("checkpoints").glob("*.pt"))[0]
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    (project / "data" / "set.tar.gz").write_bytes(b"x")
    monkeypatch.chdir(project)
    cfg = to_dict(load_config(None, [
        f"model.checkpoint={bundled}", "data.dataset=image_folder",
        "data.root=data/set.tar.gz",  # --set: relative to the working directory
    ]))  # fmt: skip
    assert cfg["data"]["root"] == "data/set.tar.gz"
    folder = project / "results" / "run"
    with ResultsFolder(folder, cfg, KEY) as f:
        f.add(_row(0))
    stored = yaml.safe_load((folder / "config.yaml").read_text())
    assert stored["model"]["checkpoint"] == f"bundled:checkpoints/{bundled.name}"
    assert stored["data"]["root"] == "../../data/set.tar.gz"
    with ResultsFolder(folder, cfg, KEY) as f:  # resumes: the same files
        assert len(f.rows) == 1
    moved = tmp_path / "elsewhere"
    shutil.copytree(project, moved)
    monkeypatch.chdir(tmp_path)
    again = load_config(moved / "results" / "run" / "config.yaml")
    assert again.model.checkpoint == str(bundled)
    assert again.data.root == str(moved / "data" / "set.tar.gz")
    with ResultsFolder(moved / "results" / "run", to_dict(again), KEY) as f:
        assert len(f.rows) == 1


def test_older_folder_with_absolute_paths_still_resumes(tmp_path):
    """A folder written before portable paths (absolute checkpoint in config.yaml)
    resumes with the same config; its config.yaml is then rewritten portably."""
    ckpt = tmp_path / "m.pt"
    cfg = {**CFG, "model": {"name": "resnet8", "checkpoint": str(ckpt)}}
    folder = tmp_path / "old"
    with ResultsFolder(folder, cfg, KEY) as f:
        f.add(_row(0))
    (folder / "config.yaml").write_text(yaml.safe_dump(cfg))  # the old layout
    with ResultsFolder(folder, cfg, KEY) as f:
        assert len(f.rows) == 1
    assert (
        yaml.safe_load((folder / "config.yaml").read_text())["model"]["checkpoint"]
        == "../m.pt"
    )
    other = {**CFG, "model": {"name": "resnet8", "checkpoint": str(tmp_path / "n.pt")}}
    with pytest.raises(ValueError, match=r"different config.*model\.checkpoint"):
        ResultsFolder(folder, other, KEY)


def test_set_names_a_bundled_checkpoint(tmp_path, monkeypatch):
    from airmodel.config import load_config
    from airmodel.errors import UserError
    from airmodel.resources import bundled_dir

    monkeypatch.chdir(tmp_path)
    cfg = load_config(None, ["model.checkpoint=bundled:checkpoints/x.pt"])
    assert cfg.model.checkpoint == str(bundled_dir("checkpoints") / "x.pt")
    with pytest.raises(UserError, match="bundled:KIND/FILE"):
        load_config(None, ["model.checkpoint=bundled:weights/x.pt"])
