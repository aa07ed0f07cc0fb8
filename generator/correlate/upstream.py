"""Command-line plumbing shared by `stereo suggest` and `stereo serve`: upstream options and credentials,
durations, the site's catalog, atomic writes. Every problem is a UsageError: one line, exit code 2."""

from __future__ import annotations

import argparse
import os
import re
import re._parser as re_parser  # the stdlib's regex parser (public as sre_parse before 3.11)
import tempfile
from pathlib import Path
from typing import Any, NoReturn

from generator import promql
from generator.build import build, select_profile
from generator.config import Config, ConfigError
from generator.config import load as load_config
from generator.correlate import re2match
from generator.correlate.candidates import Catalog
from generator.correlate.source import Auth

Matcher = tuple[str, str, str]


class UsageError(Exception):
    """Bad command line or input: reported in one line, exit code 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def seconds(text: str, what: str) -> int:
    """A Prometheus duration as whole seconds > 0 (UsageError otherwise)."""
    try:
        value = promql.parse_duration(text)
    except promql.PromQLError as exc:
        raise UsageError(f"{what}: {exc}") from None
    if value < 1 or value != int(value):
        raise UsageError(f"{what}: expected a whole number of seconds ≥ 1s, got {text!r}")
    return int(value)


def read_secret(path: str, what: str) -> str:
    try:
        value = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{what} {path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    if not value:
        raise UsageError(f"{what} {path}: empty")
    return value


def upstream_options(p: argparse.ArgumentParser) -> None:
    """Options of the upstream Prometheus, shared by `stereo suggest` and `stereo serve`."""
    p.add_argument("--prometheus", metavar="URL",
                   help="Prometheus-compatible API (default: prometheus_url of stereo.yaml)")
    p.add_argument("--config", help="site settings (default: ./stereo.yaml when it exists)")
    p.add_argument("--selector", default="", help='label matchers applied to every signal, e.g. \'cluster="prod"\'')
    p.add_argument("--bearer-token-file", metavar="F", help="send Authorization: Bearer <contents of F> upstream")
    p.add_argument("--basic-auth-user", metavar="USER", help="basic auth user for the upstream")
    p.add_argument("--basic-auth-password-file", metavar="F", help="basic auth password for the upstream")
    p.add_argument("--insecure-skip-verify", action="store_true", help="do not verify the upstream's TLS certificate")


def upstream(args: argparse.Namespace) -> tuple[Config, str, Auth, list[Matcher]]:
    config_path = args.config or ("stereo.yaml" if Path("stereo.yaml").exists() else None)
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    url = (args.prometheus or config.prometheus_url).rstrip("/")
    if not re.match(r"^https?://[^\s/]+", url):
        raise UsageError(f"--prometheus: expected an http:// or https:// URL, got {url!r}")
    token = read_secret(args.bearer_token_file, "--bearer-token-file") if args.bearer_token_file else None
    basic = None
    if args.basic_auth_user:
        if not args.basic_auth_password_file:
            raise UsageError("--basic-auth-user needs --basic-auth-password-file")
        basic = (args.basic_auth_user, read_secret(args.basic_auth_password_file, "--basic-auth-password-file"))
    try:
        matchers = check_matchers(re2match.parse(args.selector)) if args.selector.strip() else []
    except re2match.SelectorError as exc:
        raise UsageError(f"--selector: {exc}") from None
    return config, url, Auth(token, basic), matchers


def write_atomic(path: Path, text: str) -> None:
    """Write through a temporary file in the same directory and os.replace: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def site_catalog(config: Config) -> Catalog:
    return Catalog(select_profile(build(config).components, config))


_REPEATS = ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")


def _risky(pattern: Any, repeated: bool) -> bool:
    """A repeat inside a repeat, an alternation inside a repeat, a backreference or a lookaround."""
    for op, av in pattern:
        name = str(op)
        if name in _REPEATS:
            many = av[1] > 1
            if (many and repeated) or _risky(av[2], repeated or many):
                return True
        elif name == "SUBPATTERN":
            if _risky(av[3], repeated):
                return True
        elif name == "ATOMIC_GROUP":
            if _risky(av, repeated):
                return True
        elif name == "BRANCH":
            if repeated or any(_risky(branch, repeated) for branch in av[1]):
                return True
        elif name in ("GROUPREF", "GROUPREF_EXISTS", "ASSERT", "ASSERT_NOT"):
            return True
    return False


def check_matchers(matchers: list[Matcher]) -> list[Matcher]:
    """`stereo suggest` still matches regex matchers with Python's backtracking engine (suggest.keep; the service
    matches with RE2, re2match.keeper): until it uses RE2 too, refuse the patterns that can take exponential time.
    The pattern is parsed here (never matched) and has already passed RE2's syntax check."""
    for label, op, value in matchers:
        if op in ("=~", "!~"):
            try:
                risky = _risky(re_parser.parse(value), False)
            except (re.error, RecursionError, OverflowError):
                risky = True
            if risky:
                raise UsageError(f"{label}{op}\"{value}\": nested repetition, alternation under repetition, "
                                 "backreferences and lookarounds are not supported in selectors")
    return matchers
