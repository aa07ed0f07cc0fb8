"""Where the pairs come from: `--suggestions URL` (the correlation service), `--correlations FILE`,
./correlations.yaml when it exists, else the built-in prior.

The correlation service serves the same document `stereo suggest` writes (<service>/api/v1/correlations.yaml),
so both are read by `correlations.parse`, with the same checks and the same file:line messages.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from generator import correlations
from generator.config import ConfigError
from generator.correlations import Pair

DEFAULT_FILE = Path("correlations.yaml")
TIMEOUT = 10.0


@dataclass(frozen=True)
class PairSource:
    file: Path | None = None  # --correlations; None: ./correlations.yaml when it exists
    url: str | None = None  # --suggestions
    optional: bool = False  # --suggestions-optional

    @classmethod
    def from_options(cls, options: Mapping[str, object]) -> PairSource:
        """From the `generate` options the CLI passes through (opt_correlations, opt_suggestions, ...)."""
        file = options.get("opt_correlations")
        url = options.get("opt_suggestions")
        return cls(Path(str(file)) if file else None, str(url) if url else None,
                   bool(options.get("opt_suggestions_optional")))

    def load(self, known: set[str]) -> list[Pair]:
        if self.url:
            try:
                return correlations.parse(fetch(self.url), self.url, known)
            except Unreachable as exc:
                if not self.optional:
                    raise ConfigError(str(exc)) from None
                fallback = self._file() or "the built-in prior"
                print(f"stereo: warning: {exc}; using {fallback}", file=sys.stderr)
        return self._load_file(known)

    def _file(self) -> Path | None:
        if self.file is not None:
            return self.file
        return DEFAULT_FILE if DEFAULT_FILE.exists() else None

    def _load_file(self, known: set[str]) -> list[Pair]:
        if self.file is not None and not self.file.exists():
            raise ConfigError(f"{self.file}: no such file (--correlations)")
        return correlations.load(self._file(), known)


class Unreachable(Exception):
    """The correlation service did not answer with a document."""


def fetch(url: str) -> str:
    request = urllib.request.Request(url, headers={"Accept": "application/yaml, text/yaml, */*"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        raise Unreachable(f"cannot read suggestions from {url}: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise Unreachable(f"cannot read suggestions from {url}: {getattr(exc.reason, 'strerror', None) or exc.reason}"
                          ) from None
    except (TimeoutError, OSError, ValueError, UnicodeDecodeError) as exc:
        raise Unreachable(f"cannot read suggestions from {url}: {exc}") from None
