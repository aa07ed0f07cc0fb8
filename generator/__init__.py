"""Stereo: Kubernetes monitoring as code. `generator.__version__` is the installed package's version."""

from __future__ import annotations

_known: dict[str, str] = {}  # the version, once read


def __getattr__(name: str) -> str:
    if name == "__version__":  # read from the package metadata once, when asked (keeps `import generator` cheap)
        if name not in _known:
            from importlib import metadata

            try:
                _known[name] = metadata.version("stereo")
            except metadata.PackageNotFoundError:  # run from a source tree that was never installed
                _known[name] = "0+unknown"
        return _known[name]
    raise AttributeError(f"module 'generator' has no attribute {name!r}")
