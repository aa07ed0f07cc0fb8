"""Where the pairs come from: `--suggestions URL` (the correlation service), `--correlations FILE`,
./correlations.yaml when it exists, else the built-in prior.

This is the loader stage of `generate`: it does the reading (file or HTTP) before anything is built, and hands
`pipeline.generate` a Document. Its signal names are checked once the catalog is built (`Document.pairs`), with
the same checks and file:line messages for a file and for the service, which serves the same document
`stereo suggest` writes (<service>/api/v1/correlations.yaml). Rendering never reads anything.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from generator import correlations
from generator.config import ConfigError
from generator.correlations import Pair

DEFAULT_FILE = Path("correlations.yaml")
TIMEOUT = 10.0


@dataclass(frozen=True)
class Document:
    """A correlations document as read, before its signal names are checked against the built catalog."""

    text: str
    origin: str  # the file or URL, for messages
    prior: bool = False  # the built-in prior: pairs naming a signal the site lacks are dropped, not errors

    def pairs(self, known: set[str]) -> list[Pair]:
        if self.prior:
            return correlations.prior(known, self.text)
        return correlations.parse(self.text, self.origin, known)


def prior() -> Document:
    return Document(correlations.prior_text(), correlations.PRIOR, prior=True)


@dataclass(frozen=True)
class PairSource:
    file: Path | None = None  # --correlations; None: ./correlations.yaml when it exists
    url: str | None = None  # --suggestions
    optional: bool = False  # --suggestions-optional

    def read(self) -> Document:
        if self.url:
            try:
                return Document(fetch(self.url), self.url)
            except Unreachable as exc:
                if not self.optional:
                    raise ConfigError(str(exc)) from None
                fallback = self._file() or "the built-in prior"
                print(f"stereo: warning: {exc}; using {fallback}", file=sys.stderr)
        return self._read_file()

    def _file(self) -> Path | None:
        if self.file is not None:
            return self.file
        return DEFAULT_FILE if DEFAULT_FILE.exists() else None

    def _read_file(self) -> Document:
        if self.file is not None and not self.file.exists():
            raise ConfigError(f"{self.file}: no such file (--correlations)")
        path = self._file()
        if path is None:
            return prior()
        return Document(correlations.read(path), str(path))


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
