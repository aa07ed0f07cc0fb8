"""Stereo: Kubernetes monitoring as code. `generator.__version__` is the installed package's version."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    if name == "__version__":  # read from the package metadata only when asked (keeps `import generator` cheap)
        from importlib import metadata

        try:
            return metadata.version("stereo")
        except metadata.PackageNotFoundError:  # run from a source tree that was never installed
            return "0+unknown"
    raise AttributeError(f"module 'generator' has no attribute {name!r}")
