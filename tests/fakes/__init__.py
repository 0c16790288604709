"""Test fakes: a loopback OpenAI HTTP API and an OpenAPI-spec validator for its traffic."""

from .openai_payloads import classify, draw_image
from .openai_server import FakeOpenAIServer, RecordedRequest
from .openapi_validator import OpenAPIValidator, SpecViolation, default_spec_path

__all__ = [
    "FakeOpenAIServer",
    "OpenAPIValidator",
    "RecordedRequest",
    "SpecViolation",
    "classify",
    "default_spec_path",
    "draw_image",
]
