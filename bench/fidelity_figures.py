"""The README's fidelity and delivery figures, measured again in one go.

Runs the CLI on examples/ring.jpg: against the fake OpenAI API (which paints noise and no ring)
with and without ``--lock-product``; offline (the studio) transparent, on an opaque sweep and
with ``--lock-product``; and once per marketplace profile. Prints each run's
``fidelity_history`` (ssim / delta_e / shape_iou) and each delivery's rules.
Run: ``python bench/fidelity_figures.py`` (``--json`` for the raw figures).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "ring.jpg"
sys.path.insert(0, str(ROOT / "tests"))

PROMPT = "18k yellow gold ring with a blue sapphire"
RUNS: dict[str, list[str]] = {  # name: extra CLI arguments
    "openai (noise)": ["--evaluator", "rubric", "--background", "opaque"],
    "openai --lock-product": ["--evaluator", "rubric", "--background", "opaque", "--lock-product"],
    "studio transparent": [],
    "studio opaque sweep": ["--background", "opaque"],
    "studio --lock-product transparent": ["--lock-product"],
    "studio --lock-product opaque": ["--lock-product", "--background", "opaque"],
}
PROFILES = ("amazon-main", "etsy", "shopify", "google-merchant", "instagram-feed")


def run(args: list[str], env: dict[str, str], out: Path) -> dict[str, Any]:
    command = [sys.executable, "-m", "agentic_image_gen", PROMPT, "--refs", str(SAMPLE)]
    command += ["--out", str(out), "--quiet", "--max-iterations", "3", "--threshold", "100"]
    done = subprocess.run([*command, *args], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{args}: exit {done.returncode}: {done.stderr.strip()}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON")
    options = parser.parse_args()
    from fakes import FakeOpenAIServer

    offline = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAIServer() as fake:
        online = {**offline, "OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": fake.base_url}
        for name, args in RUNS.items():
            fake.script_scores([60, 70, 80])
            env = online if name.startswith("openai") else offline
            figures[name] = run(args, env, Path(tmp))["fidelity_history"]
        for profile in PROFILES:
            delivery = run(["--profile", profile], offline, Path(tmp))["delivery"]
            figures[profile] = {r["rule"]: [r["passed"], r["measured"]] for r in delivery["rules"]}
    if options.json:
        print(json.dumps(figures, indent=1))
        return
    for name, values in figures.items():
        if isinstance(values, list):
            shown = ", ".join(
                "none"
                if f is None
                else f"{f['ssim']:.2f} / {f['delta_e']:.1f} / {f['shape_iou']:.2f}"
                for f in values
            )
            print(f"{name:36} {shown}")
        else:
            shown = ", ".join(
                f"{k} {'ok' if ok else 'FAIL'} ({m})" for k, (ok, m) in values.items()
            )
            print(f"{name:36} {shown}")


if __name__ == "__main__":
    main()
