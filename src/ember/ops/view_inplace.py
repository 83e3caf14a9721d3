"""In-place writes through a view of a tensor that autograd tracks (torch's CopySlices).

Not supported yet: raising beats computing a silently wrong gradient."""
from __future__ import annotations


def rebase_view(view, fn, others):
    raise NotImplementedError(
        "ember does not yet support in-place operations on a view of a tensor that requires "
        "grad (torch's CopySlices); use an out-of-place op or clone() the view first")
