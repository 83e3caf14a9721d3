"""ember.hub: torch.hub's weight cache, offline.

ember never downloads: `load_state_dict_from_url` reads the file torch would have cached
(`<hub dir>/checkpoints/<basename of the url>`) and, when it is missing, raises an error that
says which file to download and exactly where to put it. Files are read with the safe loader
(`ember.load(..., weights_only=True)`), which never runs code from the file.
"""
from __future__ import annotations

import os
from urllib.parse import urlparse

__all__ = ["get_dir", "set_dir", "load_state_dict_from_url"]

_hub_dir: str | None = None


def get_dir() -> str:
    """torch.hub's directory: set_dir's, else $TORCH_HOME/hub, else
    $XDG_CACHE_HOME/torch/hub, else ~/.cache/torch/hub."""
    if _hub_dir is not None:
        return _hub_dir
    torch_home = os.environ.get("TORCH_HOME")
    if torch_home is None:
        cache = os.environ.get("XDG_CACHE_HOME", os.path.join("~", ".cache"))
        torch_home = os.path.join(cache, "torch")
    return os.path.join(os.path.expanduser(torch_home), "hub")


def set_dir(d) -> None:
    """Use `d` as the hub directory from now on."""
    global _hub_dir
    _hub_dir = os.path.expanduser(os.fspath(d))


def load_state_dict_from_url(url: str, model_dir: str | None = None, map_location=None,
                             progress: bool = True, check_hash: bool = False,
                             file_name: str | None = None, weights_only: bool = True):
    """The object saved in the cached copy of `url` (torch's checkpoint cache layout).

    Raises FileNotFoundError naming the url and the path to put the file at when the cache
    does not hold it (ember does not download). As in torch, check_hash concerns downloads
    only: a file already in the cache is read as it is.
    """
    if model_dir is None:
        model_dir = os.path.join(get_dir(), "checkpoints")
    filename = file_name or os.path.basename(urlparse(url).path)
    path = os.path.join(model_dir, filename)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{filename} is not in torch hub's cache and ember does not download files: "
            f"download {url} and save it as {path} (the cache directory is "
            "$TORCH_HOME/hub/checkpoints, else ~/.cache/torch/hub/checkpoints)")
    from .serialization import load
    return load(path, map_location=map_location, weights_only=weights_only)
