"""A JSON Schema for Grafana's classic dashboard JSON model, generated from the npm package @grafana/schema.

Grafana cannot be installed here, so dashboards are checked against the TypeScript types Grafana itself ships:
ts-json-schema-generator turns `Dashboard` in @grafana/schema's raw/dashboard/x/types.gen.d.ts (the model with
`panels`, `templating.list`, `schemaVersion`, the one file provisioning reads) into a draft-07 JSON Schema.
The v2* types in the same package describe the newer resource format (`elements`, `layout`) and are not used.

Two deliberate departures from the types, both making the schema match what Grafana accepts rather than looser
in general: panels are checked as RowPanel when `type` is "row" and as Panel otherwise (clearer errors), and an
annotation's `target` may be any datasource's query (see _free_annotation_target).

`npm install` and the generation run once per cache directory (10-20 s cold); the schema is cached as JSON,
keyed by the package files, the generator flags and SCHEMA_REVISION, so a version bump regenerates it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PACKAGE_FILES = ("package.json", "package-lock.json")
TYPES = "node_modules/@grafana/schema/dist/types/raw/dashboard/x/types.gen.d.ts"
ROOT_TYPE = "Dashboard"
GENERATOR = "node_modules/ts-json-schema-generator/bin/ts-json-schema-generator.js"
TIMEOUT = 300
# bump when the post-processing below changes, so cached schemas are rebuilt
SCHEMA_REVISION = "2"


class SchemaToolError(RuntimeError):
    """npm or the schema generator failed; the message carries the tail of their output."""


def default_cache_dir() -> Path:
    """<repo>/.cache/grafana-schema, or $STEREO_SCHEMA_CACHE (CI can point it at a cached directory)."""
    return Path(os.environ.get("STEREO_SCHEMA_CACHE") or ROOT / ".cache" / "grafana-schema")


@contextlib.contextmanager
def _locked(cache_dir: Path) -> Iterator[None]:
    # several test runs may share the cache directory; one npm install at a time
    with open(cache_dir / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(args: list[str], cwd: Path) -> None:
    try:
        done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SchemaToolError(f"{' '.join(args[:2])}: {exc}") from None
    if done.returncode != 0:
        raise SchemaToolError(f"{' '.join(args)} failed ({done.returncode}):\n{(done.stdout + done.stderr)[-3000:]}")


def _install(cache_dir: Path) -> None:
    """Copy package.json + lock into the cache and `npm install` there, unless that is already done."""
    same = all((cache_dir / f).exists() and (cache_dir / f).read_bytes() == (HERE / f).read_bytes()
               for f in PACKAGE_FILES)
    if same and (cache_dir / TYPES).exists() and (cache_dir / GENERATOR).exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SchemaToolError("npm is not on PATH: Node 20+ and npm are needed to build the dashboard schema")
    for name in PACKAGE_FILES:
        shutil.copyfile(HERE / name, cache_dir / name)
    _run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error"], cache_dir)
    if not (cache_dir / TYPES).exists():
        raise SchemaToolError(f"@grafana/schema no longer ships {TYPES}; pick the classic Dashboard type again")


def _flags(strict: bool) -> list[str]:
    # --no-type-check: the .d.ts files are generated and consistent; checking them costs seconds.
    # Without --additional-properties every object is closed (typos in keys are errors); real dashboards
    # carry keys the types lack (a query variable's `definition`), hence open by default.
    flags = ["--path", TYPES, "--type", ROOT_TYPE, "--expose", "all", "--no-type-check"]
    return flags if strict else [*flags, "--additional-properties"]


def _discriminate_panels(schema: dict[str, Any]) -> dict[str, Any]:
    """panels: anyOf [Panel, RowPanel] → RowPanel when type is "row", Panel otherwise.

    Same meaning for valid dashboards, but an invalid panel is reported against the one type it claims
    to be ("gridPos/x: 'a' is not of type 'number'") instead of "not valid under any of the given schemas".
    """
    panels = schema["definitions"]["Dashboard"]["properties"]["panels"]
    refs = sorted(item["$ref"] for item in panels["items"]["anyOf"])
    if refs != ["#/definitions/Panel", "#/definitions/RowPanel"]:
        raise SchemaToolError(f"Dashboard.panels changed shape in @grafana/schema: {refs}")
    panels["items"] = {
        "if": {"properties": {"type": {"const": "row"}}, "required": ["type"]},
        "then": {"$ref": "#/definitions/RowPanel"},
        "else": {"$ref": "#/definitions/Panel"},
    }
    return schema


def _free_annotation_target(schema: dict[str, Any]) -> dict[str, Any]:
    """AnnotationQuery.target: any query object, not only the built-in "grafana" datasource's.

    The types pin it to AnnotationTarget {limit, matchAny, tags, type}, which Grafana's own comments call
    "only required/valid for the grafana datasource" and "TODO: this should be a regular DataQuery"; a
    Prometheus annotation ({expr, refId, ...}) is valid in Grafana, so it is typed like a panel target here.
    """
    query = schema["definitions"]["AnnotationQuery"]["properties"]
    if query.get("target", {}).get("$ref") != "#/definitions/AnnotationTarget":
        raise SchemaToolError(f"AnnotationQuery.target changed shape in @grafana/schema: {query.get('target')}")
    query["target"] = {"type": "object", "description": "The annotation's query, in its datasource's terms."}
    return schema


def dashboard_schema(cache_dir: Path, strict: bool = False) -> dict[str, Any]:
    """The JSON Schema of a Grafana dashboard (classic JSON model), built once and cached in `cache_dir`.

    strict=True closes every object (unknown keys are errors): useful on Stereo's own dashboards to catch
    misspelt keys; the default accepts the extra keys real Grafana dashboards carry.
    """
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    for name in PACKAGE_FILES:
        digest.update((HERE / name).read_bytes())
    digest.update(" ".join([SCHEMA_REVISION, *_flags(strict)]).encode())
    out = cache_dir / f"dashboard-{'strict' if strict else 'open'}-{digest.hexdigest()[:16]}.schema.json"
    with _locked(cache_dir):
        if not out.exists():
            _install(cache_dir)
            fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".json")
            os.close(fd)
            try:
                _run(["node", GENERATOR, *_flags(strict), "--out", tmp], cache_dir)
                generated = json.loads(Path(tmp).read_text(encoding="utf-8"))
                schema = _free_annotation_target(_discriminate_panels(generated))
                Path(tmp).write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n", encoding="utf-8")
                os.chmod(tmp, 0o644)  # mkstemp makes it private; the cache is shared
                os.replace(tmp, out)
                for stale in cache_dir.glob(out.name.rsplit("-", 1)[0] + "-*.schema.json"):
                    if stale != out:  # built from an older package.json or post-processing
                        stale.unlink()
            finally:
                Path(tmp).unlink(missing_ok=True)
    return json.loads(out.read_text(encoding="utf-8"))


def _where(error: jsonschema.ValidationError) -> str:
    return "/".join(str(p) for p in error.absolute_path) or "(dashboard)"


def _order(error: jsonschema.ValidationError) -> tuple[list[str], str]:
    # panels/2 before panels/10
    return [f"{p:09d}" if isinstance(p, int) else p for p in error.absolute_path], error.message


def validate_dashboard(schema: dict[str, Any], dashboard: dict[str, Any]) -> list[str]:
    """Every schema violation in `dashboard`, one line each ("panels/0/gridPos/x: 'a' is not of type 'number'"),
    in document order; an empty list means the dashboard is valid."""
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    errors = sorted(cls(schema).iter_errors(dashboard), key=_order)
    lines = []
    for error in errors:
        # an anyOf/oneOf failure: name the closest branch's reason rather than "not valid under any"
        best = jsonschema.exceptions.best_match(error.context) if error.context else error
        lines.append(f"{_where(best)}: {best.message}")
    return lines
