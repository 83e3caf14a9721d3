"""Child process of the checkpoint fuzzer: load each case file, report one JSON line per case.

    python checkpoint_fuzz_runner.py ember|torch CASES.json OUT.jsonl MEMORY_CAP_BYTES

Address space is capped with setrlimit before the loader is imported, each case has an alarm,
and after every case the process-wide state a hostile file could reach (the classes and
singletons the allow-list exposes, dtypes, the default dtype, loaded modules, environment, cwd,
the safe-globals list) is compared with a snapshot taken after a first valid load.
"""
from __future__ import annotations

import hashlib
import json
import os
import resource
import signal
import sys


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout("timed out")


def summarize(obj, depth=0):
    """A JSON-able, library-independent picture of a loaded object (tensors by content)."""
    if depth > 20:
        return "<deep>"
    if hasattr(obj, "dtype") and hasattr(obj, "shape") and hasattr(obj, "stride"):
        arr = obj.detach().numpy() if hasattr(obj, "detach") else obj.numpy()
        return ["T", str(obj.dtype).split(".")[-1], list(arr.shape),
                hashlib.sha1(arr.tobytes()).hexdigest()[:16], bool(obj.requires_grad),
                type(obj).__name__ == "Parameter"]
    if isinstance(obj, dict):
        return ["D", sorted([repr(k)[:80], summarize(v, depth + 1)] for k, v in obj.items())]
    if isinstance(obj, (list, tuple)):
        return ["L", [summarize(v, depth + 1) for v in obj]]
    if isinstance(obj, (set, frozenset)):
        return ["S", sorted(repr(v)[:80] for v in obj)]
    return ["P", type(obj).__name__, repr(obj)[:80]]


def snapshot(lib):
    import collections
    classes = [collections.OrderedDict, collections.Counter, set, complex, bytearray, dict, list,
               tuple, object, type, lib.Size, lib.device, lib.Tensor, lib.nn.Parameter,
               type(lib.float32)]
    state = {c.__qualname__: sorted((k, id(v)) for k, v in vars(c).items()) for c in classes}
    state["dtypes"] = [(repr(d), getattr(d, "is_floating_point", None), d.itemsize)
                       for d in (lib.float32, lib.float64, lib.float16, lib.int64, lib.uint8,
                                 lib.bool)]
    state["float32_attrs"] = repr([getattr(lib.float32, a, None)
                                   for a in ("name", "np", "is_signed", "_cat")])
    state["new_tensor"] = repr(lib.ones(2).dtype)
    state["default_dtype"] = repr(lib.get_default_dtype())
    state["modules"] = sorted(sys.modules)
    state["env"] = sorted(os.environ.items())
    state["cwd"] = os.getcwd()
    state["safe"] = repr(lib.serialization.get_safe_globals())
    return json.dumps(state, default=repr)


def main():
    which, cases_file, out_file, cap = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    if which == "torch":
        import torch as lib
        lib.set_num_threads(1)
    else:
        import ember as lib
        import ember.nn  # noqa: F401 - Parameter is used by loads
    with open(cases_file) as fh:
        cases = json.load(fh)
    lib.load(cases["warmup"], weights_only=True)  # lazy imports happen before the snapshot:
    lib.zeros(1, dtype=lib.bfloat16)  # the loader's, and ember's ml_dtypes for bfloat16 storages
    base = snapshot(lib)
    signal.signal(signal.SIGALRM, _alarm)
    with open(out_file, "w") as out:
        for case in cases["cases"]:
            path = case["path"]
            rec = {"name": case["name"]}
            signal.alarm(20)
            try:
                obj = lib.load(path, weights_only=True)
                rec["status"] = "ok"
                rec["summary"] = summarize(obj)
            except _Timeout:
                rec["status"] = "hang"
            except BaseException as e:  # noqa: BLE001 - the parent judges every kind
                rec["status"] = "error"
                rec["type"] = f"{type(e).__module__}.{type(e).__name__}"
                rec["message"] = str(e)[-2000:]
            finally:
                signal.alarm(0)
            if which == "ember":
                now = snapshot(lib)
                if now != base:
                    rec["state_changed"] = True
                    base = now
            out.write(json.dumps(rec, default=repr) + "\n")
            out.flush()


if __name__ == "__main__":
    main()
