"""Check OpenAI API request and response bodies against the official OpenAPI spec.

The spec (openai/openai-openapi ``openapi.yaml``) is loaded at run time, never copied into the
repo: by default from ``../shared/openai-openapi/openapi.yaml`` relative to the repository root, or
from the file named by ``$AIG_OPENAPI_SPEC`` (a relative path is taken from the repository root).

Two corrections make plain JSON Schema agree with the real API (see the spec copy's README):

* the spec's ``oneOf`` lists overlap and rely on ``discriminator``: every ``oneOf`` is read as
  ``anyOf`` (and an ``anyOf`` failure is explained by the branches whose ``type`` matched);
* fields the installed openai SDK knows but the spec copy predates (``tool_usage``, image
  qualities ``xhigh``/``max``, the image call's moderation ``error``) are added from the SDK's
  own types (sdk_overlay.py);
* the real API answers 400 "Unknown parameter" for keys it does not know, though most schemas lack
  ``additionalProperties: false``: top-level keys (and those of each ``image_generation`` tool of
  a request) are checked against the property names the schema declares.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from . import sdk_overlay

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SPEC_PATH = REPO_ROOT.parent / "shared" / "openai-openapi" / "openapi.yaml"
SPEC_ENV_VAR = "AIG_OPENAPI_SPEC"
_SPEC_URI = "urn:openai-openapi"
_MAX_MESSAGE = 600

# Loaded (and rewritten) documents, shared by every validator of the process: one load per session.
_DOCUMENTS: dict[Path, dict[str, Any]] = {}
_DOCUMENTS_LOCK = threading.Lock()


class SpecViolation(AssertionError):
    """A request or response body that the OpenAPI spec (or the real API) would reject."""


def default_spec_path() -> Path:
    """``$AIG_OPENAPI_SPEC`` if set, else ``<repo>/../shared/openai-openapi/openapi.yaml``."""
    configured = os.environ.get(SPEC_ENV_VAR)
    if not configured:
        return DEFAULT_SPEC_PATH
    path = Path(configured).expanduser()
    return path if path.is_absolute() else REPO_ROOT / path


def _rewrite(document: Any) -> None:
    """In place: ``oneOf`` -> ``anyOf``; OpenAPI 3.0 ``nullable: true`` -> a ``"null"`` type."""
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "oneOf" in node:
                one_of = node.pop("oneOf")
                if "anyOf" in node:  # both present: both must hold
                    node.setdefault("allOf", []).append({"anyOf": one_of})
                else:
                    node["anyOf"] = one_of
            if node.get("nullable") is True and isinstance(node.get("type"), str):
                node["type"] = [node["type"], "null"]
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def load_spec(path: Path) -> dict[str, Any]:
    """Parse (once per process) and rewrite the spec at ``path``."""
    path = path.resolve()
    with _DOCUMENTS_LOCK:
        if path not in _DOCUMENTS:
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            with path.open("rb") as handle:
                document = yaml.load(handle, Loader=loader)
            if not isinstance(document, dict):
                raise ValueError(f"{path} is not an OpenAPI document")
            sdk_overlay.apply(document)  # before the rewrite, so its oneOf are read too
            _rewrite(document)
            _DOCUMENTS[path] = document
        return _DOCUMENTS[path]


def _follow_discriminator(error: ValidationError) -> ValidationError:
    """Explain an ``anyOf`` failure by the branches whose ``type`` matched (a discriminator)."""
    while error.validator == "anyOf" and error.context:
        by_branch: dict[Any, list[ValidationError]] = {}
        for sub in error.context:
            by_branch.setdefault(sub.relative_schema_path[0], []).append(sub)
        matching = [
            sub
            for subs in by_branch.values()
            if not any(
                list(s.relative_path) == ["type"] and s.validator in ("enum", "const") for s in subs
            )
            for sub in subs
        ]
        better = best_match(matching) if matching else None
        if better is None:
            break
        error = better
    return error


def _shorten(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE else text[:_MAX_MESSAGE] + "...(truncated)"


class OpenAPIValidator:
    """Validates bodies against ``#/components/schemas/<name>`` of the OpenAI OpenAPI spec.

    If the spec file is missing, the validator is still constructed, with ``available = False``
    and ``unavailable_reason`` = "OpenAPI spec not found at ...", so tests can ``pytest.skip``.
    """

    def __init__(self, spec_path: str | Path | None = None) -> None:
        self.spec_path = Path(spec_path) if spec_path is not None else default_spec_path()
        self.available = self.spec_path.is_file()
        self.unavailable_reason: str | None = (
            None if self.available else f"OpenAPI spec not found at {self.spec_path}"
        )
        self._document: dict[str, Any] = load_spec(self.spec_path) if self.available else {}
        self._registry: Registry[Any] = Registry().with_resource(
            _SPEC_URI, DRAFT202012.create_resource(self._document)
        )
        self._validators: dict[str, Draft202012Validator] = {}
        self._property_names: dict[str, frozenset[str]] = {}
        self._lock = threading.Lock()

    # ---- public API -----------------------------------------------------------------------------

    def validate_request(self, schema_name: str, body: Any) -> None:
        """Schema validation plus the real API's unknown-parameter check; raises SpecViolation."""
        problems = self._schema_problems(schema_name, body)
        if isinstance(body, dict):
            problems += self._unknown_keys(schema_name, body, prefix="")
            tools = body.get("tools")
            for index, tool in enumerate(tools if isinstance(tools, list) else []):
                if isinstance(tool, dict) and tool.get("type") == "image_generation":
                    problems += self._unknown_keys("ImageGenTool", tool, prefix=f"tools[{index}].")
        self._raise(schema_name, problems)

    def validate_response(self, schema_name: str, body: Any) -> None:
        """Schema validation plus a check that top-level keys are declared; raises SpecViolation."""
        problems = self._schema_problems(schema_name, body)
        if isinstance(body, dict):
            problems += self._unknown_keys(schema_name, body, prefix="")
        self._raise(schema_name, problems)

    def schema_names(self) -> list[str]:
        """All names under ``#/components/schemas``."""
        return sorted(self._schemas())

    def property_names(self, schema_name: str) -> frozenset[str]:
        """Property names ``schema_name`` declares, following ``$ref``, ``allOf``, ``anyOf``."""
        with self._lock:
            if schema_name not in self._property_names:
                schema = self._schema(schema_name)
                self._property_names[schema_name] = frozenset(
                    self._collect_properties(schema, set())
                )
            return self._property_names[schema_name]

    # ---- internals ------------------------------------------------------------------------------

    def _schemas(self) -> dict[str, Any]:
        if not self.available:
            raise RuntimeError(self.unavailable_reason)
        schemas: dict[str, Any] = self._document["components"]["schemas"]
        return schemas

    def _schema(self, schema_name: str) -> dict[str, Any]:
        try:
            schema: dict[str, Any] = self._schemas()[schema_name]
        except KeyError:
            raise KeyError(f"no schema {schema_name!r} in {self.spec_path}") from None
        return schema

    def _validator(self, schema_name: str) -> Draft202012Validator:
        with self._lock:
            if schema_name not in self._validators:
                self._schema(schema_name)  # fail early on a bad name
                ref = {"$ref": f"{_SPEC_URI}#/components/schemas/{schema_name}"}
                self._validators[schema_name] = Draft202012Validator(ref, registry=self._registry)
            return self._validators[schema_name]

    def _schema_problems(self, schema_name: str, body: Any) -> list[str]:
        error = best_match(self._validator(schema_name).iter_errors(body))
        if error is None:
            return []
        error = _follow_discriminator(error)
        return [f"at {error.json_path}: {_shorten(error.message)}"]

    def _unknown_keys(self, schema_name: str, body: dict[str, Any], prefix: str) -> list[str]:
        known = self.property_names(schema_name)
        return [f"Unknown parameter: '{prefix}{key}'." for key in body if key not in known]

    def _resolve(self, ref: str) -> Any:
        if not ref.startswith("#/"):
            raise ValueError(f"unsupported $ref {ref!r}")
        node: Any = self._document
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def _collect_properties(self, schema: Any, seen: set[str]) -> Iterator[str]:
        if not isinstance(schema, dict):
            return
        properties = schema.get("properties")
        if isinstance(properties, dict):
            yield from properties
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref not in seen:
            seen.add(ref)
            yield from self._collect_properties(self._resolve(ref), seen)
        for keyword in ("allOf", "anyOf", "oneOf"):
            for sub in schema.get(keyword, []):
                yield from self._collect_properties(sub, seen)

    @staticmethod
    def _raise(schema_name: str, problems: list[str]) -> None:
        if problems:
            raise SpecViolation(f"{schema_name}: " + "; ".join(problems))
