"""Checkpoint safety (issue 9): nothing in a file runs or changes the process, sizes are checked
before memory is spent, saves survive SIGKILL, symlinks and modes are kept, storages stay shared,
every error names the file, and torch's safe-globals API. Each case is compared with torch."""
from __future__ import annotations

import collections
import io
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

import ember
from checkpoint_forge import (BUILD, EMPTY_DICT, MARK, NEWFALSE, NONE, PROTO2, REDUCE, SETITEMS,
                              STOP, TUPLE2, checkpoint, deflate_zeros, glob, i, ints, rebuild, s,
                              state_dict, storage_pid, tup, zip_archive, EMPTY_TUPLE)

STORAGE6 = np.arange(6, dtype="<f4").tobytes()
VERSION = {"name": "archive/version", "data": b"3\n"}


def _write(tmp_path, name, data: bytes):
    p = tmp_path / name
    p.write_bytes(data)
    return p


def _outcome(fn):
    try:
        return fn(), None
    except Exception as e:  # noqa: BLE001 - the test inspects the type
        return None, e


# ---- 1. weights_only=None is the safe default ----------------------------------------------
class _Evil:
    def __reduce__(self):
        return (os.system, ("touch should-not-exist",))


def _no_system(monkeypatch):
    """Record os.system calls instead of running them (pickle finds it as posix.system)."""
    import posix
    calls = []
    monkeypatch.setattr(os, "system", lambda *a: calls.append(a))
    monkeypatch.setattr(posix, "system", os.system)
    return calls


@pytest.mark.parametrize("weights_only", [None, True, 1, "yes"])
def test_weights_only_none_and_other_values_load_safely(torch, tmp_path, monkeypatch,
                                                         weights_only):
    path = _write(tmp_path, "evil.pth", checkpoint(pickle.dumps({"x": _Evil()}, protocol=2)))
    calls = _no_system(monkeypatch)
    with pytest.raises(pickle.UnpicklingError, match="system"):
        ember.load(path, weights_only=weights_only)
    if weights_only is None:
        with pytest.raises(pickle.UnpicklingError):
            torch.load(path, weights_only=None)
    assert calls == []
    ember.load(path, weights_only=False)  # only an explicit False runs what the file says
    assert calls == [("touch should-not-exist",)]


def test_explicit_pickle_module_with_safe_load_is_refused_like_torch(torch, tmp_path):
    path = tmp_path / "a.pth"
    ember.save({"a": ember.ones(2)}, path)
    with pytest.raises(RuntimeError, match="pickle_module"):
        ember.load(path, pickle_module=pickle, weights_only=True)
    with pytest.raises(RuntimeError, match="pickle_module"):
        torch.load(path, pickle_module=pickle, weights_only=True)


# ---- 2. BUILD only on objects the load created ----------------------------------------------
def _build_on(module, name, attr, value_op):
    """GLOBAL module.name, state (None, {attr: value}), BUILD: sets an attribute on a global."""
    return (PROTO2 + glob(module, name) + NONE + EMPTY_DICT + MARK + s(attr) + value_op
            + SETITEMS + TUPLE2 + BUILD + STOP)


def _three_opcodes(module, name):
    """GLOBAL, EMPTY_DICT, BUILD: the shortest attempt at changing a global's state."""
    return PROTO2 + glob(module, name) + EMPTY_DICT + BUILD + STOP


@pytest.mark.parametrize("module,name,attr,owner", [
    ("torch", "float32", "is_floating_point", lambda: ember.float32),
    ("torch", "float32", "itemsize", lambda: ember.float32),
    ("collections", "Counter", "most_common", lambda: collections.Counter),
    ("collections", "OrderedDict", "keys", lambda: collections.OrderedDict),
    ("builtins", "set", "add", lambda: set),
    ("torch", "Size", "numel", lambda: ember.Size),
])
def test_build_cannot_change_a_global(torch, tmp_path, module, name, attr, owner):
    obj = owner()
    before = getattr(obj, attr)
    path = _write(tmp_path, "b.pth", checkpoint(_build_on(module, name, attr, NEWFALSE)))
    try:
        with pytest.raises(pickle.UnpicklingError, match="BUILD|build") as err:
            ember.load(path)
        assert str(path) in str(err.value)
        assert getattr(obj, attr) is before or getattr(obj, attr) == before
    finally:  # never leave the process damaged should the check above fail
        if getattr(obj, attr, None) is not before and not isinstance(obj, type(set)):
            try:
                setattr(obj, attr, before)
            except (AttributeError, TypeError):
                pass
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)
    three = _write(tmp_path, "c.pth", checkpoint(_three_opcodes(module, name)))
    with pytest.raises(pickle.UnpicklingError, match="BUILD|build"):
        ember.load(three)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(three, weights_only=True)
    assert ember.ones(2).dtype is ember.float32 and ember.float32.is_floating_point
    assert ember.float32.itemsize == 4


def test_state_dict_metadata_build_on_fresh_ordereddict_still_loads(torch, tmp_path):
    model = torch.nn.Linear(2, 3)
    path = tmp_path / "m.pth"
    torch.save(model.state_dict(), path)  # an OrderedDict with `_metadata` set by BUILD
    sd = ember.load(path)
    assert isinstance(sd, collections.OrderedDict) and list(sd) == ["weight", "bias"]
    assert sd._metadata == model.state_dict()._metadata


# ---- 3. bombs and size checks before allocation ---------------------------------------------
def test_decompression_bomb_refused_without_allocating(torch, tmp_path):
    raw, crc = deflate_zeros(1 << 30)  # 1 MiB on disk, 1 GiB inflated
    pkl = state_dict(w=rebuild(storage_pid("0", numel=1 << 28), size=(1 << 28,), stride=(1,)))
    data = zip_archive([{"name": "archive/data.pkl", "data": pkl},
                        {"name": "archive/data/0", "data": raw, "method": 8,
                         "file_size": 1 << 30, "crc": crc}, VERSION])
    assert len(data) < 1.1 * (1 << 20)
    path = _write(tmp_path, "bomb.pth", data)
    tracemalloc.start()
    try:
        with pytest.raises(RuntimeError, match="inflate") as err:
            ember.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(path) in str(err.value)
    assert peak < 16 << 20, peak


def test_lying_entry_size_is_refused_before_allocating(tmp_path):
    # a stored record claiming 1 GiB in a tiny file
    pkl = state_dict(w=rebuild(storage_pid("0", numel=1 << 28), size=(1 << 28,), stride=(1,)))
    data = zip_archive([{"name": "archive/data.pkl", "data": pkl},
                        {"name": "archive/data/0", "data": b"\0" * 64, "file_size": 1 << 30},
                        VERSION])
    path = _write(tmp_path, "liar.pth", data)
    tracemalloc.start()
    try:
        with pytest.raises(RuntimeError) as err:
            ember.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(path) in str(err.value) and peak < 16 << 20


@pytest.mark.parametrize("extra", [64, -8])
def test_storage_record_size_must_match_like_torch(torch, tmp_path, extra):
    data = STORAGE6 + b"\0" * extra if extra > 0 else STORAGE6[:extra]
    path = _write(tmp_path, "m.pth", checkpoint(state_dict(w=rebuild(storage_pid("0"))),
                                                {"0": data}))
    with pytest.raises(RuntimeError, match="record size") as err:
        ember.load(path)
    assert str(path) in str(err.value)
    with pytest.raises(RuntimeError, match="record size"):
        torch.load(path, weights_only=True)


def test_loading_peaks_at_about_the_file_size(tmp_path):
    n = 8 << 20  # 32 MiB of float32
    path = tmp_path / "big.pth"
    ember.save({"w": ember.ones(n)}, path)
    size = path.stat().st_size
    tracemalloc.start()
    try:
        sd = ember.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert sd["w"].shape == (n,) and float(sd["w"][-1]) == 1.0
    assert peak < 1.25 * size, (peak, size)


# ---- 4. killed saves ---------------------------------------------------------------------------
_SAVER = """
import sys, ember
w = ember.ones(int(sys.argv[2]))
print("ready", flush=True)
while True:
    ember.save({"w": w}, sys.argv[1])
"""


def _temps(folder, name):
    return [f for f in os.listdir(folder) if f.startswith("." + name) and f.endswith(".tmp")]


def test_sigkill_mid_save_leaves_at_most_one_temporary_and_next_save_cleans_it(tmp_path):
    target = tmp_path / "model.pth"
    ember.save({"w": ember.zeros(3)}, target)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    killed = 0
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, "-c", _SAVER, str(target), str(4 << 20)],
                                stdout=subprocess.PIPE, env=env)
        assert proc.stdout.readline().strip() == b"ready"
        deadline = time.time() + 60
        while not _temps(tmp_path, "model.pth") and time.time() < deadline:
            time.sleep(0.001)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        killed += bool(_temps(tmp_path, "model.pth"))
        assert len(_temps(tmp_path, "model.pth")) <= 1
        assert ember.load(target)["w"].numel() in (3, 4 << 20)  # old or new, never half
        ember.save({"w": ember.zeros(3)}, target)  # the next save removes the dead one's file
        assert _temps(tmp_path, "model.pth") == []
    assert killed >= 1  # the kill did land mid-save at least once


def test_cleanup_spares_live_writers_and_foreign_files(tmp_path):
    from ember import _atomic_file
    target = tmp_path / "m.pth"
    prefix = _atomic_file._prefix(str(target))
    host = _atomic_file._host()
    live = tmp_path / f"{prefix}{host}.{os.getppid()}.abcd1234.ember-save.tmp"
    dead_pid = _dead_pid()
    dead = tmp_path / f"{prefix}{host}.{dead_pid}.abcd1234.ember-save.tmp"
    other_host_new = tmp_path / f"{prefix}elsewhere.{dead_pid}.abcd1234.ember-save.tmp"
    other_host_old = tmp_path / f"{prefix}elsewhere.{dead_pid}.ffff0000.ember-save.tmp"
    foreign = tmp_path / ".m.pth.random.tmp"
    other_target = tmp_path / f"{_atomic_file._prefix(str(tmp_path / 'n.pth'))}{host}." \
                              f"{dead_pid}.abcd1234.ember-save.tmp"
    for p in (live, dead, other_host_new, other_host_old, foreign, other_target):
        p.write_bytes(b"x")
    os.utime(other_host_old, (time.time() - 2 * 86400,) * 2)
    ember.save({"a": ember.ones(1)}, target)
    left = set(os.listdir(tmp_path))
    assert dead.name not in left and other_host_old.name not in left
    assert {live.name, other_host_new.name, foreign.name, other_target.name, "m.pth"} == left


def _dead_pid():
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


# ---- 5. symlinks and modes ---------------------------------------------------------------------
def test_save_writes_through_a_symlink(torch, tmp_path):
    real = tmp_path / "store" / "real.pth"
    real.parent.mkdir()
    ember.save({"a": ember.zeros(1)}, real)
    link = tmp_path / "latest.pth"
    link.symlink_to(real)
    ember.save({"a": ember.ones(2)}, link)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert torch.load(real, weights_only=True)["a"].tolist() == [1.0, 1.0]
    # torch does the same
    torch.save({"a": torch.zeros(3)}, link)
    assert link.is_symlink() and ember.load(real)["a"].tolist() == [0.0] * 3


def test_save_keeps_an_existing_mode_and_new_files_get_the_umask_default(torch, tmp_path):
    old = os.umask(0o022)
    try:
        ember.save({"a": ember.ones(1)}, tmp_path / "new.pth")
        torch.save({"a": torch.ones(1)}, tmp_path / "new_torch.pth")
        mode = (tmp_path / "new.pth").stat().st_mode & 0o777
        assert mode == (tmp_path / "new_torch.pth").stat().st_mode & 0o777 == 0o644
        for keep in (0o644, 0o640, 0o600):
            p = tmp_path / f"m{keep:o}.pth"
            ember.save({"a": ember.ones(1)}, p)
            os.chmod(p, keep)
            ember.save({"a": ember.zeros(1)}, p)
            assert p.stat().st_mode & 0o777 == keep
    finally:
        os.umask(old)


def test_save_to_a_missing_folder_or_a_directory_raises_like_torch(torch, tmp_path):
    for target in (tmp_path / "nope" / "a.pth", tmp_path):
        with pytest.raises(RuntimeError) as e_err:
            ember.save({"a": ember.ones(1)}, target)
        with pytest.raises(RuntimeError):
            torch.save({"a": torch.ones(1)}, target)
        assert str(target) in str(e_err.value) or str(target.parent) in str(e_err.value)
    assert sorted(os.listdir(tmp_path)) == []


# ---- 6. shared storages and views --------------------------------------------------------------
def _storage_records(path):
    with zipfile.ZipFile(path) as z:
        return sorted(n for n in z.namelist() if "/data/" in n)


def test_torch_storages_stay_shared_through_ember_load_and_save(torch, tmp_path):
    emb = torch.nn.Embedding(10, 4)
    head = torch.nn.Linear(4, 10)
    head.weight = emb.weight  # tied
    model = torch.nn.Sequential(emb, torch.nn.ReLU(), head)
    base = torch.arange(24.0).reshape(4, 6)
    obj = {"model": model.state_dict(), "base": base, "row": base[2], "col": base[:, 3],
           "block": base[1:3, 2:5], "t": base.t(), "ints": torch.arange(5),
           "half": torch.ones(3, dtype=torch.float16)}
    src = tmp_path / "torch.pth"
    torch.save(obj, src)
    n_storages = len(_storage_records(src))
    assert n_storages == 5  # tied weight, head bias, base, ints, half
    loaded = ember.load(src)
    for k in ("row", "col", "block", "t"):
        assert loaded[k].storage_offset() == obj[k].storage_offset(), k
        assert loaded[k].stride() == obj[k].stride(), k
        np.testing.assert_array_equal(loaded[k].numpy(), obj[k].numpy())
    again = tmp_path / "ember.pth"
    ember.save(loaded, again)
    assert len(_storage_records(again)) == n_storages
    back = torch.load(again, weights_only=True)
    sd = back["model"]
    assert sd["0.weight"].data_ptr() == sd["2.weight"].data_ptr()
    for k in ("row", "col", "block", "t"):
        assert back[k].untyped_storage().data_ptr() == back["base"].untyped_storage().data_ptr()
        assert back[k].storage_offset() == obj[k].storage_offset()
        assert back[k].stride() == obj[k].stride()
        assert torch.equal(back[k], obj[k])


def test_ember_tied_weights_stay_tied_in_torch(torch, tmp_path):
    emb = ember.nn.Embedding(10, 4)
    head = ember.nn.Linear(4, 10)
    head.weight = emb.weight
    model = ember.nn.Sequential(emb, head)
    path = tmp_path / "tied.pth"
    ember.save(model.state_dict(), path)
    assert len(_storage_records(path)) == 2
    sd = torch.load(path, weights_only=True)
    assert sd["0.weight"].data_ptr() == sd["1.weight"].data_ptr()
    back = ember.load(path)
    back["0.weight"][0, 0] = 42.0
    assert back["1.weight"][0, 0].item() == 42.0


# ---- 7. every corrupt file: torch's exception type, the file's name, what is wrong -----------
OA = glob("collections", "OrderedDict") + EMPTY_TUPLE + REDUCE
CORRUPT = {
    "negative_dim": (state_dict(w=rebuild(storage_pid("0"), size=(-1, 3))), "negative"),
    "huge_numel": (state_dict(w=rebuild(storage_pid("0", numel=1 << 62))), "record size"),
    "int_storage": (state_dict(w=rebuild(b"", raw_args=tup(i(5), i(0), ints((2, 3)),
                                                          ints((3, 1)), NEWFALSE, OA))),
                    "not a storage"),
    "offset_past_end": (state_dict(w=rebuild(storage_pid("0"), offset=5)), "needs a storage"),
    "stride_past_end": (state_dict(w=rebuild(storage_pid("0"), stride=(3, 7))),
                        "needs a storage"),
    "size_stride_lengths": (state_dict(w=rebuild(storage_pid("0"), size=(6,), stride=(1, 1))),
                            "one length"),
    "missing_record": (state_dict(w=rebuild(storage_pid("7"))), "missing"),
    "unknown_storage": (state_dict(w=rebuild(storage_pid("0", stype="NopeStorage"))), "Nope"),
    "truncated_pickle": (state_dict(w=rebuild(storage_pid("0")))[:40], "truncated"),
    "bad_memo": (PROTO2 + b"h\x09" + STOP, "memo"),
    "stack_underflow": (PROTO2 + REDUCE + STOP, "underflow"),
    "grad_on_ints": (state_dict(w=rebuild(storage_pid("0", stype="LongStorage"),
                                          requires_grad=True)), "floating point"),
}


@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_corrupt_checkpoint_errors_name_file_and_problem(torch, tmp_path, case):
    pkl, words = CORRUPT[case]
    storage = np.arange(6, dtype="<i8").tobytes() if case == "grad_on_ints" else STORAGE6
    path = _write(tmp_path, f"{case}.pth", checkpoint(pkl, {"0": storage}))
    _, err = _outcome(lambda: ember.load(path))
    _, terr = _outcome(lambda: torch.load(path, weights_only=True))
    assert terr is not None, "torch accepts this file"
    assert isinstance(err, (pickle.UnpicklingError, RuntimeError)), repr(err)
    assert str(path) in str(err) and words in str(err), str(err)
    if isinstance(terr, (pickle.UnpicklingError, RuntimeError)):
        assert isinstance(err, type(terr)) or isinstance(terr, type(err)), (err, terr)


@pytest.mark.parametrize("data,words", [
    (b"", "zip format"), (b"PK\x03\x04junk", "zip format"), (b"\x80\x02\x8a\x0alegacy", "legacy"),
    (zip_archive([{"name": "data.pkl", "data": b"."}]), "folder"),
    (zip_archive([{"name": "a/other", "data": b"."}]), "data.pkl"),
])
def test_not_a_checkpoint_names_file(tmp_path, data, words):
    path = _write(tmp_path, "x.pth", data)
    with pytest.raises(RuntimeError, match=words) as err:
        ember.load(path)
    assert str(path) in str(err.value)


def test_file_object_errors_name_the_file(tmp_path):
    path = _write(tmp_path, "f.pth", checkpoint(state_dict(w=rebuild(storage_pid("0"),
                                                                     offset=9)), {"0": STORAGE6}))
    with open(path, "rb") as fh, pytest.raises(RuntimeError, match="f.pth"):
        ember.load(fh)
    with pytest.raises(RuntimeError, match="BytesIO"):
        ember.load(io.BytesIO(path.read_bytes()))


# ---- 11. torch.serialization's allow-list API ------------------------------------------------
class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __reduce__(self):
        return (Point, (self.x, self.y))


class Box:  # pickled by NEWOBJ + BUILD of its __dict__
    def __init__(self, v):
        self.v = v


class Stateful:
    def __init__(self, v):
        self.v = v

    def __getstate__(self):
        return {"v": self.v, "extra": "seen by __setstate__"}

    def __setstate__(self, state):
        self.v, self.note = state["v"], state["extra"]


@pytest.fixture
def clean_safe_globals(torch):
    ember.serialization.clear_safe_globals()
    torch.serialization.clear_safe_globals()
    yield
    ember.serialization.clear_safe_globals()
    torch.serialization.clear_safe_globals()


def _objects(lib):
    return {"p": Point(1, 2.5), "b": Box(lib.ones(2)), "s": Stateful(3), "t": lib.arange(3)}


@pytest.mark.parametrize("writer", ["torch", "ember"])
def test_safe_globals_match_torch(torch, tmp_path, clean_safe_globals, writer):
    path = tmp_path / "objs.pth"
    (torch if writer == "torch" else ember).save(_objects(torch if writer == "torch" else ember),
                                                 path)
    names = sorted(f"{__name__}.{c}" for c in ("Point", "Box", "Stateful"))
    assert sorted(ember.serialization.get_unsafe_globals_in_checkpoint(path)) == names
    assert sorted(torch.serialization.get_unsafe_globals_in_checkpoint(path)) == names
    for lib in (ember, torch):
        with pytest.raises(pickle.UnpicklingError, match="Point|Box|Stateful"):
            lib.load(path, weights_only=True)
    with ember.serialization.safe_globals([Point, Box, Stateful]), \
            torch.serialization.safe_globals([Point, Box, Stateful]):
        assert set(ember.serialization.get_safe_globals()) == {Point, Box, Stateful}
        assert ember.serialization.get_unsafe_globals_in_checkpoint(path) == []
        e = ember.load(path)
        t = torch.load(path, weights_only=True)
    assert ember.serialization.get_safe_globals() == []
    for got in (e, t):
        assert (got["p"].x, got["p"].y) == (1, 2.5)
        assert got["b"].v.tolist() == [1.0, 1.0]
        assert (got["s"].v, got["s"].note) == (3, "seen by __setstate__")
    assert isinstance(e["b"].v, ember.Tensor) and e["t"].tolist() == [0, 1, 2]


def test_add_safe_globals_with_a_name_and_clear(torch, tmp_path, clean_safe_globals):
    # a class saved under a name that no longer exists (moved module): allow-listed by that name
    path = _write(tmp_path, "renamed.pth", checkpoint(
        state_dict(p=glob("old_mod", "OldPt") + tup(i(4), i(5)) + REDUCE)))
    for lib in (ember, torch):
        assert lib.serialization.get_unsafe_globals_in_checkpoint(path) == ["old_mod.OldPt"]
        lib.serialization.add_safe_globals([(Point, "old_mod.OldPt")])
        assert lib.serialization.get_unsafe_globals_in_checkpoint(path) == []
        assert lib.load(path, weights_only=True)["p"].y == 5
        lib.serialization.clear_safe_globals()
        assert lib.serialization.get_safe_globals() == []
        with pytest.raises(pickle.UnpicklingError, match="old_mod.OldPt"):
            lib.load(path, weights_only=True)
    for bad, err in (((Point, "a", "b"), ValueError), ((Point, 3), TypeError)):
        for lib in (ember, torch):
            lib.serialization.add_safe_globals([bad])
            with pytest.raises(err):
                lib.load(path, weights_only=True)
            lib.serialization.clear_safe_globals()


def test_allowed_class_runs_nothing_else(torch, tmp_path, clean_safe_globals, monkeypatch):
    calls = _no_system(monkeypatch)
    # an allowed class next to a disallowed call: refused, nothing ran
    pkl = state_dict(p=glob(__name__, "Point") + tup(i(1), i(2)) + REDUCE,
                     x=glob("os", "system") + tup(s("touch x")) + REDUCE)
    path = _write(tmp_path, "mixed.pth", checkpoint(pkl))
    # BUILD on the allow-listed class itself (not an instance) would change the class
    cls_build = _write(tmp_path, "cls.pth", checkpoint(_build_on(__name__, "Point", "x", i(7))))
    for lib in (ember, torch):
        with lib.serialization.safe_globals([Point]):
            with pytest.raises(pickle.UnpicklingError, match="system"):
                lib.load(path, weights_only=True)
            with pytest.raises(pickle.UnpicklingError):
                lib.load(cls_build, weights_only=True)
    assert calls == [] and not hasattr(Point, "x")


def test_torch_serialization_resolves_to_ember_under_ember_run(tmp_path):
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent("""
        import torch, torch.serialization as ser
        import ember
        class Cfg:
            def __init__(self, lr): self.lr = lr
            def __reduce__(self): return (Cfg, (self.lr,))
        torch.save({"cfg": Cfg(0.5), "w": torch.ones(2)}, "c.pth")
        print(ser is ember.serialization, ser.get_unsafe_globals_in_checkpoint("c.pth"))
        try:
            torch.load("c.pth")
        except Exception as e:
            print(type(e).__name__)
        with torch.serialization.safe_globals([Cfg]):
            print(torch.load("c.pth")["cfg"].lr)
        torch.serialization.add_safe_globals([Cfg])
        print(len(torch.serialization.get_safe_globals()))
    """))
    r = subprocess.run([sys.executable, "-m", "ember", "run", str(script)], capture_output=True,
                       text=True, cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:4] == ["True ['__main__.Cfg']", "UnpicklingError", "0.5", "1"]
