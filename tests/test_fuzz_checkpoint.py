"""Checkpoint fuzzing, kept in the suite: hostile and corrupt `.pth` files against ember.load.

A seeded generator writes several hundred files: arbitrary GLOBALs called through REDUCE, INST,
OBJ, NEWOBJ, NEWOBJ_EX, STACK_GLOBAL and extension codes (each payload would create a marker
file if it ran), BUILD on globals, out-of-range storage offsets/strides/sizes, huge declared
sizes, truncated, bit-flipped and bomb zips, mutated pickles re-wrapped with valid CRCs, and
legacy (non-zip) files. All of them load in ONE ember subprocess (address space capped with
setrlimit, an alarm per case) and in one torch subprocess. Asserted: no marker appears, the
child does not crash or hang, no process-wide state changes, every rejection is torch's
exception type naming the file, and ember accepts nothing torch rejects (and where both accept,
the same content).
"""
from __future__ import annotations

import collections
import json
import os
import pickle
import random
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest

import ember
from checkpoint_forge import (BUILD, EMPTY_DICT, EMPTY_LIST, EMPTY_TUPLE, MARK, NEWFALSE, NEWOBJ,
                              NEWTRUE, NONE, PROTO2, REDUCE, SETITEMS, STOP, TUPLE1, TUPLE2,
                              checkpoint, deflate_zeros, glob, i, ints, rebuild, s, state_dict,
                              storage_pid, tup, zip_archive)

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNER = os.path.join(HERE, "checkpoint_fuzz_runner.py")
STORAGE6 = np.arange(6, dtype="<f4").tobytes()
OD = glob("collections", "OrderedDict") + EMPTY_TUPLE + REDUCE


# ---- the generator ----------------------------------------------------------------------------
def _malicious(marker: str) -> dict[str, bytes]:
    """Pickles that create `marker` if anything they name is executed."""
    sh = f"touch {marker}"
    code = f"open({marker!r}, 'w').write('ran')"
    call = lambda mod, name, *args: glob(mod, name) + tup(*args) + REDUCE  # noqa: E731
    p = {
        "os_system": call("os", "system", s(sh)),
        "posix_system": call("posix", "system", s(sh)),
        "builtins_exec": call("builtins", "exec", s(code)),
        "builtins_eval": call("builtins", "eval", s(code)),
        "py2_builtin_eval": call("__builtin__", "eval", s(code)),
        "builtins_open": call("builtins", "open", s(marker), s("w")),
        "io_open": call("io", "open", s(marker), s("w")),
        "subprocess_call": call("subprocess", "call", tup(s("touch"), s(marker))),
        "subprocess_popen": call("subprocess", "Popen", tup(s("touch"), s(marker))),
        "shutil_copy": call("shutil", "copyfile", s("/etc/hostname"), s(marker)),
        "pathlib_touch": call("pathlib", "Path", s(marker)),
        "runpy_code": call("runpy", "_run_code", s(code), EMPTY_DICT),
        "import_then_getattr": glob("builtins", "getattr") + tup(
            call("builtins", "__import__", s("os")), s("system")) + REDUCE + tup(s(sh)) + REDUCE,
        "numpy_reconstruct": call("numpy.core.multiarray", "_reconstruct",
                                  glob("numpy", "ndarray"), ints((0,)), s("b")),
        "numpy_load": call("numpy", "load", s(marker)),
        "ember_save": call("ember.serialization", "save", EMPTY_DICT, s(marker)),
        "torch_save": call("torch.serialization", "save", EMPTY_DICT, s(marker)),
        "torch_hub_load": call("torch.hub", "load", s("x"), s("y")),
        "torch_tensor_legacy": call("torch", "Tensor", i(1 << 40)),
        "torch_load_recursive": call("torch", "load", s(marker)),
        "rebuild_from_type": call("torch._tensor", "_rebuild_from_type_v2",
                                  glob("os", "system"), NONE, tup(s(sh)), EMPTY_DICT),
        "codecs_other": call("_codecs", "encode", s(code), s("rot13")),
        "bytearray_huge": call("builtins", "bytearray", i(1 << 40)),
        "set_of_huge_view": call("builtins", "set", rebuild(storage_pid("0"), size=(1 << 40,),
                                                            stride=(0,))),
        "counter_of_view": call("collections", "Counter", rebuild(storage_pid("0"),
                                                                  size=(1 << 40,), stride=(0,))),
        "od_of_string": call("collections", "OrderedDict", s("ab")),
        "size_of_view": call("torch", "Size", rebuild(storage_pid("0"), size=(1 << 40,),
                                                      stride=(0,))),
        "parameter_of_int": call("torch.nn.parameter", "Parameter", i(3)),
        "device_bad": call("torch", "device", s("cuda:99"), s("x")),
        "complex_of_list": call("builtins", "complex", EMPTY_LIST),
        "dtype_called": call("torch", "float32", i(1)),
    }
    out = {k: PROTO2 + EMPTY_DICT + MARK + s("x") + v + SETITEMS + STOP for k, v in p.items()}
    # other opcodes that call things
    out["inst_protocol0"] = (b"(S'" + sh.encode() + b"'\nios\nsystem\n.")
    out["obj_opcode"] = PROTO2 + MARK + glob("os", "system") + s(sh) + b"o" + STOP
    out["newobj_popen"] = (PROTO2 + glob("subprocess", "Popen") + tup(tup(s("touch"), s(marker)))
                           + NEWOBJ + STOP)
    out["newobj_ex"] = (b"\x80\x04" + glob("subprocess", "Popen") + tup(tup(s("touch"),
                                                                             s(marker)))
                        + EMPTY_DICT + b"\x92" + STOP)
    out["stack_global"] = (b"\x80\x04" + b"\x8c\x02os\x8c\x06system\x93" + s(sh) + TUPLE1 +
                           REDUCE + STOP)
    out["ext1_code"] = PROTO2 + b"\x82\x01" + tup(s(sh)) + REDUCE + STOP
    out["persid_text"] = PROTO2 + b"P" + sh.encode() + b"\n" + STOP
    out["binpersid_not_storage"] = PROTO2 + tup(s("module"), s("os")) + b"Q" + STOP
    out["binpersid_int"] = PROTO2 + i(3) + b"Q" + STOP
    # BUILD on globals and on objects the load did not create
    for mod, name in (("torch", "float32"), ("torch", "int64"), ("collections", "Counter"),
                      ("collections", "OrderedDict"), ("builtins", "set"), ("torch", "Size"),
                      ("torch", "device"), ("torch._utils", "_rebuild_tensor_v2"),
                      ("torch", "FloatStorage")):
        for attr, val in (("is_floating_point", NEWFALSE), ("itemsize", i(2)),
                          ("__repr__", NONE), ("most_common", NONE), ("__init__", NONE)):
            out[f"build_{name}_{attr}"] = (PROTO2 + glob(mod, name) + NONE + EMPTY_DICT + MARK
                                           + s(attr) + val + SETITEMS + TUPLE2 + BUILD + STOP)
        out[f"build3_{name}"] = PROTO2 + glob(mod, name) + EMPTY_DICT + BUILD + STOP
    out["build_on_list"] = PROTO2 + EMPTY_LIST + EMPTY_DICT + BUILD + STOP
    out["build_on_tensor"] = (PROTO2 + rebuild(storage_pid("0")) + tup(s("x")) + BUILD + STOP)
    out["build_od_class_key"] = (PROTO2 + OD + EMPTY_DICT + MARK + s("__class__") +
                                 glob("collections", "Counter") + SETITEMS + BUILD + STOP)
    out["build_od_nonstr_key"] = (PROTO2 + OD + EMPTY_DICT + MARK + i(1) + i(2) + SETITEMS +
                                  BUILD + STOP)
    out["setitem_on_global"] = (PROTO2 + glob("collections", "Counter") + s("k") + NONE + b"s"
                                + STOP)
    out["append_on_global"] = PROTO2 + glob("torch", "Size") + NONE + b"a" + STOP
    return out


def _tensor_cases() -> dict[str, tuple[bytes, dict]]:
    """Structurally wrong tensors over a valid 6-float storage."""
    cases = {}
    for off in (-1, 5, 6, 7, 1 << 31, 1 << 62, 1 << 63, 1 << 64):
        cases[f"offset_{off}"] = rebuild(storage_pid("0"), offset=off)
    for st in ((-1, 1), (3, -1), (0, 0), (3, 2), (1 << 62, 1), (1 << 64, 1), (4, 1)):
        cases[f"stride_{st}"] = rebuild(storage_pid("0"), stride=st)
    for sz in ((-1, 3), (2, -3), (1 << 31, 1), (1 << 62, 0), (0, 1 << 62), (0, -1),
               (1 << 62,), (1 << 40, 1 << 40), (1,) * 65):
        stride = (0,) * len(sz) if len(sz) != 2 else (1, 1)
        cases[f"size_{len(sz)}_{sz[:3]}"] = rebuild(storage_pid("0"), size=sz, stride=stride)
    cases["zero_stride_broadcast"] = rebuild(storage_pid("0"), size=(1 << 20, 4), stride=(0, 1))
    for numel in (-1, 0, 5, 7, 1 << 31, 1 << 62, 1 << 64):
        cases[f"numel_{numel}"] = rebuild(storage_pid("0", numel=numel))
    for stype in ("LongStorage", "DoubleStorage", "HalfStorage", "ByteStorage", "BoolStorage",
                  "BFloat16Storage", "ComplexFloatStorage", "UntypedStorage", "Nope"):
        cases[f"stype_{stype}"] = rebuild(storage_pid("0", stype=stype))
    cases["pid_short"] = rebuild(tup(s("storage"), glob("torch", "FloatStorage"), s("0")) +
                                 b"Q")
    cases["pid_long"] = rebuild(tup(s("storage"), glob("torch", "FloatStorage"), s("0"),
                                    s("cpu"), i(6), i(9)) + b"Q")
    cases["pid_int_key"] = rebuild(tup(s("storage"), glob("torch", "FloatStorage"), i(0),
                                       s("cpu"), i(6)) + b"Q")
    cases["pid_path_key"] = rebuild(tup(s("storage"), glob("torch", "FloatStorage"),
                                        s("../../etc/passwd"), s("cpu"), i(6)) + b"Q")
    cases["location_cuda"] = rebuild(tup(s("storage"), glob("torch", "FloatStorage"), s("0"),
                                         s("cuda:0"), i(6)) + b"Q")
    pid = storage_pid("0")
    cases["args_int_storage"] = rebuild(b"", raw_args=tup(i(5), i(0), ints((2, 3)), ints((3, 1)),
                                                         NEWFALSE, OD))
    cases["args_short"] = rebuild(b"", raw_args=tup(pid, i(0)))
    cases["args_none_size"] = rebuild(b"", raw_args=tup(pid, i(0), NONE, ints((3, 1)),
                                                       NEWFALSE, OD))
    cases["args_float_offset"] = rebuild(b"", raw_args=tup(pid, b"G" + struct.pack(">d", 1.5),
                                                          ints((2, 3)), ints((3, 1)),
                                                          NEWFALSE, OD))
    cases["args_list_size"] = rebuild(b"", raw_args=tup(pid, i(0), EMPTY_LIST, EMPTY_TUPLE,
                                                       NEWFALSE, OD))
    cases["args_rg_int"] = rebuild(b"", raw_args=tup(pid, i(0), ints((2, 3)), ints((3, 1)),
                                                    i(1), OD))
    cases["args_hooks"] = rebuild(b"", raw_args=tup(pid, i(0), ints((2, 3)), ints((3, 1)),
                                                   NEWFALSE, EMPTY_DICT + s("h") +
                                                   glob("torch", "float32") + b"s"))
    cases["args_metadata"] = rebuild(b"", raw_args=tup(pid, i(0), ints((2, 3)), ints((3, 1)),
                                                      NEWFALSE, OD, EMPTY_DICT + s("a") + i(1)
                                                      + b"s"))
    cases["shared_key_two_dtypes"] = (rebuild(storage_pid("0")) + s("y") +
                                      rebuild(storage_pid("0", stype="IntStorage")))
    cases["grad_on_long"] = rebuild(storage_pid("0", stype="LongStorage", numel=3),
                                    requires_grad=True, size=(3,), stride=(1,))
    cases["parameter_ok"] = (glob("torch._utils", "_rebuild_parameter") +
                             tup(rebuild(storage_pid("0")), NEWTRUE, OD) + REDUCE)
    cases["parameter_of_str"] = (glob("torch._utils", "_rebuild_parameter") +
                                 tup(s("x"), NEWTRUE, OD) + REDUCE)
    cases["valid_view"] = rebuild(storage_pid("0"), offset=1, size=(2, 2), stride=(1, 2))
    out = {}
    for name, body in cases.items():
        pkl = PROTO2 + EMPTY_DICT + MARK + s("w") + body + SETITEMS + STOP
        out[name] = (pkl, {"0": STORAGE6 * (2 if "Long" in name or "Double" in name else 1)})
    return out


def _mutate(data: bytes, rng: random.Random) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        kind = rng.randrange(5)
        pos = rng.randrange(len(b)) if b else 0
        if kind == 0 and b:
            b[pos] ^= 1 << rng.randrange(8)
        elif kind == 1 and b:
            b[pos] = rng.choice([0, 0xFF, 0x7F, 0x80, ord("c"), ord("R"), ord("b"), ord("."),
                                 ord("("), ord("Q"), ord("h"), ord("q")])
        elif kind == 2:
            del b[pos:pos + rng.randint(1, 8)]
        elif kind == 3:
            b[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif b:
            n = rng.randint(1, 16)
            b[pos:pos] = b[pos:pos + n]
    return bytes(b)


def generate(folder: str, torch, rng: random.Random) -> list[dict]:
    """Write every case into `folder`; returns [{name, path, group}]."""
    cases = []
    markers = os.path.join(folder, "markers")
    os.makedirs(markers)

    def add(name, group, data):
        path = os.path.join(folder, f"{len(cases):04d}_{name[:60]}.pth".replace("/", "_"))
        with open(path, "wb") as fh:
            fh.write(data)
        cases.append({"name": name, "path": path, "group": group})

    for name, pkl in _malicious(os.path.join(markers, "ran")).items():
        add(name, "malicious", checkpoint(pkl, {"0": STORAGE6}))
        add(name + "_raw", "malicious", pkl)  # a bare pickle (legacy-looking file)
    for name, (pkl, storages) in _tensor_cases().items():
        add(name, "tensor", checkpoint(pkl, storages))

    # valid seeds: written by ember and by torch (views, shared storages, many dtypes)
    seeds = {}
    base = torch.arange(24.0).reshape(4, 6)
    tobj = {"base": base, "t": base.t(), "row": base[1], "ints": torch.arange(5),
            "half": torch.ones(3, dtype=torch.float16), "b": torch.tensor([True, False]),
            "meta": {"lr": 0.1, "steps": [1, 2], "name": "m"},
            "p": torch.nn.Parameter(torch.ones(2)), "c": collections.Counter([1, 1, 2])}
    tpath = os.path.join(folder, "seed_torch.pth")
    torch.save(tobj, tpath)
    seeds["torch"] = open(tpath, "rb").read()
    eb = ember.arange(24.0).reshape(4, 6)
    epath = os.path.join(folder, "seed_ember.pth")
    ember.save({"base": eb, "t": eb.t(), "col": eb[:, 2], "i8": ember.ones(3, dtype=ember.int8),
                "s": ember.tensor(2.5), "e": ember.zeros(0, 3), "opt": {"step": 3, "x": None}},
               epath)
    seeds["ember"] = open(epath, "rb").read()
    lpath = os.path.join(folder, "seed_legacy.pth")
    torch.save({"w": torch.ones(3)}, lpath, _use_new_zipfile_serialization=False)
    add("legacy_torch_format", "legacy", open(lpath, "rb").read())
    add("empty_file", "legacy", b"")
    add("random_bytes", "legacy", bytes(rng.randrange(256) for _ in range(512)))
    add("plain_pickle_state", "legacy", pickle.dumps({"a": [1, 2]}, protocol=2))

    for seed_name, data in seeds.items():
        add(f"{seed_name}_valid", "valid", data)
        for k in range(40):  # truncations
            add(f"{seed_name}_trunc_{k}", "zip", data[:len(data) * k // 40])
        for k in range(80):  # random byte flips anywhere in the archive
            b = bytearray(data)
            for _ in range(rng.randint(1, 3)):
                b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
            add(f"{seed_name}_flip_{k}", "zip", bytes(b))
        # mutated pickles, re-wrapped so the CRC is right and the interpreter sees them
        import zipfile
        with zipfile.ZipFile(os.path.join(folder, f"seed_{seed_name}.pth")) as z:
            names = z.namelist()
            prefix = names[0].split("/")[0]
            pkl = z.read(f"{prefix}/data.pkl")
            storages = {n.split("/data/")[1]: z.read(n) for n in names if "/data/" in n}
        for k in range(120):
            add(f"{seed_name}_pickle_mut_{k}", "pickle",
                checkpoint(_mutate(pkl, rng), storages, prefix=prefix))
        for k, key in enumerate(sorted(storages)[:3]):  # storage records of the wrong length
            for delta in (-4, 4, 64):
                bad = dict(storages)
                bad[key] = storages[key][:delta] if delta < 0 else storages[key] + b"\0" * delta
                add(f"{seed_name}_record_{key}_{delta}", "tensor",
                    checkpoint(pkl, bad, prefix=prefix))

    # bombs and lying zip metadata (with a version record, so only the lie is wrong)
    version = {"name": "archive/version", "data": b"3\n"}
    good_pkl = state_dict(w=rebuild(storage_pid("0", numel=1 << 26), size=(1 << 26,),
                                    stride=(1,)))
    raw, crc = deflate_zeros(1 << 28)
    add("deflate_bomb_storage_256MiB", "bomb", zip_archive([
        {"name": "archive/data.pkl", "data": good_pkl},
        {"name": "archive/data/0", "data": raw, "method": 8, "file_size": 1 << 28, "crc": crc},
        version]))
    raw_p, crc_p = deflate_zeros(1 << 28)
    add("deflate_bomb_pickle", "bomb", zip_archive([
        {"name": "archive/data.pkl", "data": raw_p, "method": 8, "file_size": 1 << 28,
         "crc": crc_p}, version]))
    small = zlib.compressobj(6, zlib.DEFLATED, -15)
    comp = small.compress(STORAGE6) + small.flush()
    one = state_dict(w=rebuild(storage_pid("0")))
    add("deflated_storage_ok", "zip", zip_archive([
        {"name": "archive/data.pkl", "data": one},
        {"name": "archive/data/0", "data": comp, "method": 8, "file_size": 24,
         "crc": zlib.crc32(STORAGE6)}, version]))
    add("deflate_lies_small", "bomb", zip_archive([
        {"name": "archive/data.pkl", "data": one},
        {"name": "archive/data/0", "data": raw[:4096], "method": 8, "file_size": 24,
         "crc": zlib.crc32(STORAGE6)}, version]))
    add("stored_claims_1GiB", "bomb", zip_archive([
        {"name": "archive/data.pkl", "data": state_dict(
            w=rebuild(storage_pid("0", numel=1 << 28), size=(1 << 28,), stride=(1,)))},
        {"name": "archive/data/0", "data": STORAGE6, "file_size": 1 << 30},
        version]))
    add("header_offset_past_end", "zip", zip_archive([
        {"name": "archive/data.pkl", "data": one},
        {"name": "archive/data/0", "data": STORAGE6, "header_offset": 1 << 30},
        version]))
    add("header_offset_into_pickle", "zip", zip_archive([
        {"name": "archive/data.pkl", "data": one},
        {"name": "archive/data/0", "data": STORAGE6, "header_offset": 0}, version]))
    add("bzip2_method", "zip", zip_archive([
        {"name": "archive/data.pkl", "data": one},
        {"name": "archive/data/0", "data": STORAGE6, "method": 12, "file_size": 24},
        version]))
    add("duplicate_records", "zip", zip_archive([
        {"name": "archive/data.pkl", "data": one},
        {"name": "archive/data/0", "data": STORAGE6},
        {"name": "archive/data/0", "data": STORAGE6[:8]}, version]))
    add("no_folder", "zip", zip_archive([{"name": "data.pkl", "data": one}]))
    add("two_archives", "zip", zip_archive([
        {"name": "a/data.pkl", "data": state_dict()},
        {"name": "b/data.pkl", "data": one}, {"name": "b/data/0", "data": STORAGE6},
        {"name": "b/version", "data": b"3\n"}]))
    add("big_endian", "zip", checkpoint(one, {"0": np.arange(6, dtype=">f4").tobytes()},
                                        extra=[{"name": "archive/byteorder", "data": b"big"}]))
    add("byteorder_weird", "zip", checkpoint(one, {"0": STORAGE6},
                                             extra=[{"name": "archive/byteorder",
                                                     "data": b"middle"}]))
    eocd_lie = bytearray(checkpoint(one, {"0": STORAGE6}))
    struct.pack_into("<H", eocd_lie, len(eocd_lie) - 12, 0xFFFF)  # entry count lies
    add("eocd_count_lie", "zip", bytes(eocd_lie))
    deep = PROTO2 + MARK * 100000 + STOP
    add("deep_marks", "pickle", checkpoint(deep))
    nested = PROTO2 + b"]" * 20000 + b"a" * 19999 + STOP
    add("deep_lists", "pickle", checkpoint(nested))
    many = PROTO2 + EMPTY_LIST + MARK + (NONE * 200000) + b"e" + STOP
    add("many_items", "pickle", checkpoint(many))
    return cases


# ---- running ------------------------------------------------------------------------------------
def _run(which: str, cases_file: str, out_file: str, cap: int, timeout: int):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p),
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, RUNNER, which, cases_file, out_file, str(cap)],
                          capture_output=True, text=True, timeout=timeout, env=env)
    with open(out_file) as fh:
        results = [json.loads(line) for line in fh]
    return proc, results


CLEAN_TYPES = {"_pickle.UnpicklingError", "builtins.RuntimeError"}
UNCLEAR = ("negative dimensions", "has no attribute", "object is not subscriptable",
           "unhashable type")


@pytest.fixture(scope="module")
def fuzz_results(torch, tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("fuzz"))
    cases = generate(folder, torch, random.Random(20261204))
    cases_file = os.path.join(folder, "cases.json")
    with open(cases_file, "w") as fh:
        json.dump({"warmup": os.path.join(folder, "seed_ember.pth"), "cases": cases}, fh)
    e_proc, e_res = _run("ember", cases_file, os.path.join(folder, "ember.jsonl"),
                         1 << 30, 600)
    t_proc, t_res = _run("torch", cases_file, os.path.join(folder, "torch.jsonl"),
                         8 << 30, 600)
    return {"folder": folder, "cases": cases, "ember": (e_proc, e_res),
            "torch": (t_proc, t_res)}


def test_fuzz_no_crash_no_code_no_state_change(fuzz_results):
    cases = fuzz_results["cases"]
    proc, res = fuzz_results["ember"]
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(res) == len(cases), f"crashed after {res[-1]['name'] if res else 'start'}"
    assert os.listdir(os.path.join(fuzz_results["folder"], "markers")) == []
    assert [r["name"] for r in res if r.get("state_changed")] == []
    assert [r["name"] for r in res if r["status"] == "hang"] == []


def test_fuzz_every_rejection_is_clean(fuzz_results):
    cases = {c["name"]: c for c in fuzz_results["cases"]}
    _, res = fuzz_results["ember"]
    unclean = []
    for r in res:
        if r["status"] != "error":
            continue
        msg = r["message"]
        path = cases[r["name"]]["path"]
        if r["type"] not in CLEAN_TYPES or path not in msg or \
                any(u in msg for u in UNCLEAR) or len(msg) < len(path) + 20:
            unclean.append((r["name"], r["type"], msg[:300]))
    assert unclean == []


def test_fuzz_ember_accepts_nothing_torch_rejects(fuzz_results):
    proc, t_res = fuzz_results["torch"]
    _, e_res = fuzz_results["ember"]
    assert len(t_res) == len(e_res), proc.stderr[-3000:]
    torch_by = {r["name"]: r for r in t_res}
    disagree, differ = [], []
    for r in e_res:
        t = torch_by[r["name"]]
        if r["status"] == "ok" and t["status"] != "ok":
            disagree.append((r["name"], t.get("type"), t.get("message", "")[:200]))
        elif r["status"] == "ok" and r["summary"] != t["summary"]:
            differ.append(r["name"])
    assert disagree == []
    assert differ == []
    groups = collections.Counter(c["group"] for c in fuzz_results["cases"])
    accepted = [r["name"] for r in e_res if r["status"] == "ok"]
    both_reject = sum(1 for r in e_res if r["status"] != "ok"
                      and torch_by[r["name"]]["status"] != "ok")
    torch_only = [r["name"] for r in e_res if r["status"] != "ok"
                  and torch_by[r["name"]]["status"] == "ok"]
    print(f"\ncheckpoint fuzz: {len(e_res)} cases {dict(groups)}; ember accepted "
          f"{len(accepted)}, rejected cleanly {len(e_res) - len(accepted)}; torch agrees on "
          f"{len(accepted) + both_reject}; only torch accepts {len(torch_only)}: "
          f"{sorted(torch_only)[:40]}")
    assert "torch_valid" in accepted and "ember_valid" in accepted
