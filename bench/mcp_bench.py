"""The MCP server as an agent host meets it (issue 23): the real ``agentic-image-gen mcp``
subprocess over stdio, through the SDK's client, offline (local providers, examples/ring.jpg,
the default 1024x1024 size).

Measured per call: seconds from sending ``tools/call`` to the first progress notification,
and the size in bytes of the result as it crosses the wire (the JSON-RPC result), beside the
100 KB target (hosts cap a tool result at about 25,000 tokens). Three kinds of answer: a
typical finished run, a review with four candidates, and a long run (8 rounds of 2).
Run: ``python bench/mcp_bench.py`` (``--repeat N`` typical runs, default 5).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters
from mcp_types import CallToolResult, ImageContent

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "ring.jpg"
TARGET_BYTES = 100_000
PROMPT = "18k yellow gold ring with a blue sapphire, white seamless background"


async def call(client: Client, arguments: dict[str, Any]) -> tuple[float | None, CallToolResult]:
    """(seconds to the first progress notification, the result)."""
    first: list[float] = []
    began = time.perf_counter()

    async def noted(done: float, total: float | None, message: str | None) -> None:
        if not first:
            first.append(time.perf_counter() - began)

    result = await client.call_tool("generate_image", arguments, progress_callback=noted)
    return (first[0] if first else None), result


def wire_bytes(result: CallToolResult) -> int:
    return len(result.model_dump_json(by_alias=True, exclude_none=True).encode())


def preview_bytes(result: CallToolResult) -> int:
    return sum(len(block.data) for block in result.content if isinstance(block, ImageContent))


async def main(repeat: int, mode: str) -> None:
    env = {name: value for name, value in os.environ.items() if name != "OPENAI_API_KEY"}
    base = {"prompt": PROMPT, "refs": [str(SAMPLE)], "background": "opaque"}
    with tempfile.TemporaryDirectory() as out:
        params = StdioServerParameters(
            command=sys.executable, args=["-m", "agentic_image_gen", "mcp", "--out", out],
            env=env, cwd=str(ROOT),
        )
        began = time.perf_counter()
        async with Client(params, mode=mode) as client:
            print(f"connected in {time.perf_counter() - began:.2f} s "
                  f"(protocol {client.protocol_version})")
            firsts, sizes = [], []
            for _ in range(repeat):
                first, result = await call(client, base)
                assert result.structured_content and not result.is_error
                firsts.append(first or float("nan"))
                sizes.append(wire_bytes(result))
            median, slowest = statistics.median(firsts) * 1000, max(firsts) * 1000
            print(f"typical run ({result.structured_content['iterations']} images): first "
                  f"progress after {median:.0f} ms (median of {repeat}; max {slowest:.0f} ms); "
                  f"result {statistics.median(sizes):,.0f} bytes (preview "
                  f"{preview_bytes(result) * 3 // 4:,} bytes of JPEG) vs {TARGET_BYTES:,} target")
            kinds = {
                "review of 4 candidates": base | {"candidates": 4, "review": "final",
                                                  "max_iterations": 1},
                "long run (8 rounds of 2)": base | {"candidates": 2, "max_iterations": 8,
                                                    "threshold": 100, "patience": 0},
            }
            for name, arguments in kinds.items():
                first, result = await call(client, arguments)
                assert result.structured_content and not result.is_error
                print(f"{name}: first progress after {(first or 0) * 1000:.0f} ms; result "
                      f"{wire_bytes(result):,} bytes ({len(result.content)} blocks, previews "
                      f"{preview_bytes(result) * 3 // 4:,} bytes) vs {TARGET_BYTES:,} target")
                if arguments.get("review"):
                    await client.call_tool("cancel_run",
                                           {"run_id": result.structured_content["run_id"]})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--mode", default="auto",
                        help="auto (the newest protocol) or legacy (the handshake hosts use today)")
    args = parser.parse_args()
    asyncio.run(main(args.repeat, args.mode))
