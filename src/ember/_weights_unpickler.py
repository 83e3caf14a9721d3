"""The `weights_only` unpickler: a small pickle interpreter that cannot be made to run code.

Python's own unpickler calls whatever a file names (`os.system`), sets attributes on whatever a
BUILD opcode finds on its stack (a dtype singleton, a standard-library class) and trusts every
length it reads. This one interprets only the opcodes torch's weights-only unpickler accepts
(protocol 2, as torch.save writes), resolves globals only through an allow-list, calls only
allow-listed functions and classes, and lets BUILD act only on objects this very load created
(an OrderedDict's `_metadata`, an instance of a class the user allow-listed) — never on a global.

The user's allow-list (`add_safe_globals`, `safe_globals`, ...) has torch's semantics: a class or
function, or a `(obj, "module.qualname")` pair for an object saved under another name.
"""
from __future__ import annotations

import _compat_pickle
import collections
import io
import pickle
import struct
from typing import Any, Callable

from pickle import UnpicklingError

__all__ = ["add_safe_globals", "safe_globals", "get_safe_globals", "clear_safe_globals",
           "globals_in_pickle", "user_allowed_globals", "WeightsUnpickler"]

# ---- the user's allow-list (process-wide, as torch's) -----------------------------------------
_user_safe: set = set()


def add_safe_globals(safe_globals: list) -> None:
    """Mark classes/functions (or `(obj, "module.name")` pairs) as loadable with weights_only."""
    global _user_safe
    _user_safe = _user_safe | set(safe_globals)


def get_safe_globals() -> list:
    """The globals the user marked safe (not ember's built-in allow-list)."""
    return list(_user_safe)


def clear_safe_globals() -> None:
    """Forget every global the user marked safe."""
    global _user_safe
    _user_safe = set()


class safe_globals:
    """Context manager: the given globals are safe inside the block only."""

    def __init__(self, safe_globals: list):
        self.safe_globals = safe_globals

    def __enter__(self):
        add_safe_globals(self.safe_globals)

    def __exit__(self, *exc):
        global _user_safe
        _user_safe = _user_safe - set(self.safe_globals)


def user_allowed_globals() -> dict[str, Any]:
    """"module.qualname" -> object for the user's allow-list (checked as torch checks it)."""
    out = {}
    for entry in _user_safe:
        if isinstance(entry, tuple):
            if len(entry) != 2:
                raise ValueError(f"Expected tuple of length 2 (global, str of callable full path), "
                                 f"but got tuple of length: {len(entry)}")
            if type(entry[1]) is not str:
                raise TypeError(f"Expected second item in tuple to be str of callable full path, "
                                f"but got: {type(entry[1])}")
            out[entry[1]] = entry[0]
        else:
            out[f"{entry.__module__}.{entry.__qualname__}"] = entry
    return out


# ---- reading the stream ---------------------------------------------------------------------
def _global_name(readline) -> str:
    module = readline()
    name = readline()
    if not module.endswith(b"\n") or not name.endswith(b"\n"):
        raise UnpicklingError("truncated GLOBAL opcode")
    try:
        module, name = module[:-1].decode("utf-8"), name[:-1].decode("utf-8")
    except UnicodeDecodeError:
        raise UnpicklingError("GLOBAL opcode with a name that is not UTF-8") from None
    # Python 2 spellings (`__builtin__ set`) read as their Python 3 names, as pickle does
    if (module, name) in _compat_pickle.NAME_MAPPING:
        module, name = _compat_pickle.NAME_MAPPING[(module, name)]
    elif module in _compat_pickle.IMPORT_MAPPING:
        module = _compat_pickle.IMPORT_MAPPING[module]
    return f"{module}.{name}"


_FIXED_ARG = {b"J": 4, b"K": 1, b"M": 2, b"G": 8, b"h": 1, b"j": 4, b"q": 1, b"r": 4}
_NO_ARG = set(b"\x81Rb(a}e]su)t\x85\x86\x87N\x88\x89\x8fQ")


def globals_in_pickle(data: bytes) -> set[str]:
    """Every GLOBAL a pickle names, read without executing anything (torch's static scan)."""
    f = io.BytesIO(data)
    found = set()
    while True:
        op = f.read(1)
        if not op:
            raise UnpicklingError("pickle data was truncated (no STOP opcode)")
        if op == b"c":
            found.add(_global_name(f.readline))
        elif op in _FIXED_ARG:
            f.read(_FIXED_ARG[op])
        elif op[0] in _NO_ARG:
            pass
        elif op == b"X":
            f.read(struct.unpack("<I", _exact(f, 4))[0])
        elif op in (b"U", b"\x8a"):
            f.read(_exact(f, 1)[0])
        elif op == b"\x80":
            f.read(1)
        elif op == b".":
            return found
        else:
            raise UnpicklingError(f"Unsupported operand {op[0]}")


def _exact(f, n: int) -> bytes:
    b = f.read(n)
    if len(b) != n:
        raise UnpicklingError(f"pickle data was truncated (needed {n} bytes, found {len(b)})")
    return b


# ---- the interpreter --------------------------------------------------------------------------
class WeightsUnpickler:
    """Interpret a protocol-2 pickle with an allow-list.

    `allowed` maps "module.name" to the object that name stands for; `call_checks` maps some of
    those objects to a function validating the arguments before the call (so `bytearray(2**40)`
    or `OrderedDict(<generator>)` never run); `persistent_load(pid)` resolves storages;
    `build_ok(inst)` says which fresh objects BUILD may act on beyond OrderedDicts.
    """

    def __init__(self, data: bytes, allowed: dict[str, Any], persistent_load: Callable,
                 call_checks: dict | None = None, no_newobj: tuple = ()):
        self.f = io.BytesIO(data)
        self.allowed = allowed
        self.user = user_allowed_globals()
        self.user_objects = list(self.user.values())
        self.allowed_objects = list(allowed.values())
        self.persistent_load = persistent_load
        self.call_checks = call_checks or {}
        self.no_newobj = no_newobj
        self.fresh: dict[int, Any] = {}  # id -> object created by this load (kept alive)

    def _is_allowed(self, obj) -> bool:
        return (any(obj is o for o in self.allowed_objects)
                or any(obj is o for o in self.user_objects))

    def _fresh(self, obj):
        self.fresh[id(obj)] = obj
        return obj

    def load(self):
        f = self.f
        read, readline = f.read, f.readline
        stack: list = []
        metastack: list = []
        memo: dict[int, Any] = {}

        def pop_mark():
            nonlocal stack
            if not metastack:
                raise UnpicklingError("could not find MARK")
            items = stack
            stack = metastack.pop()
            return items

        def need(n, opname):
            if len(stack) < n:
                raise UnpicklingError(f"unpickling stack underflow at {opname}")

        while True:
            op = read(1)
            if not op:
                raise UnpicklingError("pickle data was truncated (no STOP opcode)")
            c = op[0]
            if c == 0x63:  # GLOBAL
                full = _global_name(readline)
                if full in self.allowed:
                    stack.append(self.allowed[full])
                elif full in self.user:
                    stack.append(self.user[full])
                else:
                    shown = full[len("builtins."):] if full.startswith("builtins.") else full
                    raise UnpicklingError(
                        f"Unsupported global: GLOBAL {shown} was not an allowed global by default. "
                        f"Please use `torch.serialization.add_safe_globals([{shown}])` or the "
                        f"`torch.serialization.safe_globals([{shown}])` context manager to "
                        "allowlist this global if you trust this class/function.")
            elif c == 0x81:  # NEWOBJ
                need(2, "NEWOBJ")
                args = stack.pop()
                cls = stack.pop()
                if type(args) is not tuple:
                    raise UnpicklingError("NEWOBJ expects a tuple of arguments")
                if not isinstance(cls, type) or not self._is_allowed(cls) or cls in self.no_newobj:
                    raise UnpicklingError(
                        "Can only create new object for nn.Parameter or classes allowlisted via "
                        f"`add_safe_globals` but got {cls!r}")
                check = self.call_checks.get(cls)
                if check is not None:
                    check(args)
                    stack.append(self._fresh(cls(*args)))
                else:
                    stack.append(self._fresh(cls.__new__(cls, *args)))
            elif c == 0x52:  # REDUCE
                need(2, "REDUCE")
                args = stack.pop()
                func = stack[-1]
                if type(args) is not tuple:
                    raise UnpicklingError("REDUCE expects a tuple of arguments")
                if not self._is_allowed(func):
                    raise UnpicklingError(f"Trying to call reduce for unrecognized function "
                                          f"{func!r}")
                check = self.call_checks.get(func)
                if check is not None:
                    check(args)
                result = func(*args)
                # only a class call makes a new object; a function may return a shared one
                stack[-1] = self._fresh(result) if isinstance(func, type) else result
            elif c == 0x62:  # BUILD
                need(2, "BUILD")
                state = stack.pop()
                inst = stack[-1]
                self._build(inst, state)
            elif c == 0x61:  # APPEND
                need(2, "APPEND")
                item = stack.pop()
                if type(stack[-1]) is not list:
                    raise UnpicklingError(f"Can only append to lists, but got {type(stack[-1])}")
                stack[-1].append(item)
            elif c == 0x65:  # APPENDS
                items = pop_mark()
                need(1, "APPENDS")
                if type(stack[-1]) is not list:
                    raise UnpicklingError(f"Can only extend lists, but got {type(stack[-1])}")
                stack[-1].extend(items)
            elif c == 0x73:  # SETITEM
                need(3, "SETITEM")
                v = stack.pop()
                k = stack.pop()
                self._check_dict(stack[-1], "SETITEM")
                stack[-1][k] = v
            elif c == 0x75:  # SETITEMS
                items = pop_mark()
                need(1, "SETITEMS")
                if len(items) % 2:
                    raise UnpicklingError("SETITEMS with an odd number of items")
                self._check_dict(stack[-1], "SETITEMS")
                target = stack[-1]
                for i in range(0, len(items), 2):
                    target[items[i]] = items[i + 1]
            elif c == 0x28:  # MARK
                metastack.append(stack)
                stack = []
            elif c == 0x74:  # TUPLE
                items = pop_mark()  # (before reading `stack`: pop_mark rebinds it)
                stack.append(tuple(items))
            elif c == 0x85:  # TUPLE1
                need(1, "TUPLE1")
                stack[-1] = (stack[-1],)
            elif c == 0x86:  # TUPLE2
                need(2, "TUPLE2")
                stack[-2:] = [(stack[-2], stack[-1])]
            elif c == 0x87:  # TUPLE3
                need(3, "TUPLE3")
                stack[-3:] = [(stack[-3], stack[-2], stack[-1])]
            elif c == 0x4E:  # NONE
                stack.append(None)
            elif c == 0x89:  # NEWFALSE
                stack.append(False)
            elif c == 0x88:  # NEWTRUE
                stack.append(True)
            elif c == 0x29:  # EMPTY_TUPLE
                stack.append(())
            elif c == 0x5D:  # EMPTY_LIST
                stack.append(self._fresh([]))
            elif c == 0x7D:  # EMPTY_DICT
                stack.append(self._fresh({}))
            elif c == 0x8F:  # EMPTY_SET
                stack.append(self._fresh(set()))
            elif c == 0x4A:  # BININT
                stack.append(struct.unpack("<i", _exact(f, 4))[0])
            elif c == 0x4B:  # BININT1
                stack.append(_exact(f, 1)[0])
            elif c == 0x4D:  # BININT2
                stack.append(struct.unpack("<H", _exact(f, 2))[0])
            elif c == 0x47:  # BINFLOAT
                stack.append(struct.unpack(">d", _exact(f, 8))[0])
            elif c == 0x58:  # BINUNICODE
                n = struct.unpack("<I", _exact(f, 4))[0]
                try:
                    stack.append(str(_exact(f, n), "utf-8", "surrogatepass"))
                except UnicodeDecodeError:
                    raise UnpicklingError("BINUNICODE string is not valid UTF-8") from None
            elif c == 0x55:  # SHORT_BINSTRING (Python 2 str): decoded as torch.load does
                raw = _exact(f, _exact(f, 1)[0])
                try:
                    stack.append(raw.decode("utf-8"))
                except UnicodeDecodeError:
                    raise UnpicklingError("SHORT_BINSTRING is not valid UTF-8") from None
            elif c == 0x51:  # BINPERSID
                need(1, "BINPERSID")
                pid = stack.pop()
                if type(pid) is not tuple or not pid or pid[0] != "storage":
                    raise UnpicklingError(f"Only persistent_load of storage is allowed, but got "
                                          f"{_short(pid)}")
                stack.append(self.persistent_load(pid))
            elif c == 0x68 or c == 0x6A:  # BINGET / LONG_BINGET
                i = _exact(f, 1)[0] if c == 0x68 else struct.unpack("<I", _exact(f, 4))[0]
                if i not in memo:
                    raise UnpicklingError(f"memo key {i} was never stored (corrupt pickle)")
                stack.append(memo[i])
            elif c == 0x71 or c == 0x72:  # BINPUT / LONG_BINPUT
                i = _exact(f, 1)[0] if c == 0x71 else struct.unpack("<I", _exact(f, 4))[0]
                need(1, "BINPUT")
                memo[i] = stack[-1]
            elif c == 0x8A:  # LONG1
                stack.append(int.from_bytes(_exact(f, _exact(f, 1)[0]), "little", signed=True))
            elif c == 0x80:  # PROTO
                proto = _exact(f, 1)[0]
                if proto > pickle.HIGHEST_PROTOCOL:
                    raise UnpicklingError(f"unsupported pickle protocol: {proto}")
            elif c == 0x2E:  # STOP
                if metastack:
                    raise UnpicklingError("STOP inside an unfinished MARK")
                need(1, "STOP")
                return stack.pop()
            else:
                raise UnpicklingError(
                    f"Unsupported operand {c} (pickle opcode {op!r} at byte {f.tell() - 1}); "
                    "a weights-only load reads only the protocol-2 opcodes torch.save writes")

    @staticmethod
    def _check_dict(obj, opname):
        if type(obj) not in (dict, collections.OrderedDict, collections.Counter):
            raise UnpicklingError(f"Can only {opname} for dict, collections.OrderedDict, "
                                  f"collections.Counter, but got {type(obj)}")

    def _build(self, inst, state):
        fresh = self.fresh.get(id(inst)) is inst
        kind = type(inst)
        if fresh and kind is collections.OrderedDict:
            if type(state) is not dict or not all(type(k) is str for k in state):
                raise UnpicklingError("BUILD of an OrderedDict expects a dict of attributes")
            inst.__dict__.update(state)  # a state_dict's `_metadata`
            return
        if fresh and any(kind is o for o in self.user_objects):
            setstate = getattr(kind, "__setstate__", None)
            if setstate is not None:
                setstate(inst, state)
                return
            slotstate = None
            if type(state) is tuple and len(state) == 2:
                state, slotstate = state
            if state:
                if type(state) is not dict:
                    raise UnpicklingError(f"BUILD state of {kind.__name__} must be a dict")
                inst.__dict__.update(state)
            if slotstate:
                if type(slotstate) is not dict:
                    raise UnpicklingError(f"BUILD slot state of {kind.__name__} must be a dict")
                for k, v in slotstate.items():
                    setattr(inst, k, v)
            return
        what = "an object this load did not create" if not fresh else f"a {kind.__name__}"
        raise UnpicklingError(
            "Can only build Tensor, Parameter, OrderedDict or types allowlisted via "
            f"`add_safe_globals`, but got {kind} ({what}); BUILD on it could change state "
            "outside this checkpoint")


def _short(obj, limit=80) -> str:
    r = repr(obj)
    return r if len(r) <= limit else r[:limit] + "..."
