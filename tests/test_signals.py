"""Signals never trace back: two Ctrl-C 1 ms apart, at any moment of a run's life, leave one
JSON object on stdout (the partial result once the run has started, the error JSON before)
and exit 130; a third signal, or a SIGTERM after a Ctrl-C, ends the process at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fakes import FakeOpenAIServer
from test_reliability import hung_in_second_generation

from agentic_image_gen.frontends.signals import Signals, Stopped

LATENCY = {"generation": 0.3, "evaluation": 0.1, "refinement": 0.1}
TRIALS = 12  # each a process of its own: ~2 s of CPU to start on a 2-core machine
AT_ONCE = 5
SPAN = {False: 0.45, True: 0.72}  # seconds after start, or into the run, the signals span


def handling(pid: int) -> bool:
    """The program's own handlers are in (its first act; frontends/signals.py): the process
    catches SIGTERM, which Python alone does not. Before that the interpreter is still
    starting (under load, several processes at once on 2 cores, that can take 0.3 s)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True  # it has ended already
    (mask,) = (line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(mask, 16) >> (signal.SIGTERM - 1) & 1)


def _double_ctrl_c(delay: float, in_run: bool, out: Path) -> tuple[int, str, str]:
    """A run in a child process, two SIGINTs 1 ms apart ``delay`` seconds after its handlers
    are in (``in_run``: after its first generation request arrives). Its second generation
    never answers, so the run cannot end before the signals however late a loaded machine
    delivers them: a run that ends normally here ignored a Ctrl-C."""
    with FakeOpenAIServer(latency=LATENCY) as fake:
        fake.script_faults([{"kind": "generation"}, {"kind": "generation", "delay": 60}])
        env = {**os.environ, "OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": fake.base_url}
        command = [sys.executable, "-m", "agentic_image_gen", "gold ring", "--out", str(out)]
        command += ["--threshold", "99", "--evaluator", "rubric", "--json-errors", "--quiet"]
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + 30
        while not handling(process.pid) and time.monotonic() < deadline:
            time.sleep(0.002)
        while in_run and not fake.generation_requests() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        time.sleep(0.001)
        process.send_signal(signal.SIGINT)
        out_text, err_text = process.communicate(timeout=30)
        return process.returncode, out_text, err_text


def test_two_ctrl_c_1_ms_apart_at_any_moment_never_trace_back(tmp_path: Path) -> None:
    """Half the trials signal while the program starts (imports, parsing, the session: from
    the moment its handlers are in, its first act), half once the run is under way
    (generating, evaluating, refining)."""
    half = TRIALS // 2
    plans = [(SPAN[run] * i / (half - 1), run) for run in (False, True) for i in range(half)]
    with ThreadPoolExecutor(AT_ONCE) as pool:
        outcomes = list(
            pool.map(lambda n: _double_ctrl_c(*plans[n], tmp_path / str(n)), range(TRIALS))
        )
    for (delay, in_run), (code, out, err) in zip(plans, outcomes, strict=True):
        where = f"{delay:.2f} s {'into the run' if in_run else 'after start'}"
        assert "Traceback" not in err, f"{where}: {err}"
        assert code == 130, f"{where}: exit {code}: {err} {out[:200]}"
        output = json.loads(out)  # exactly one JSON object
        if "error" in output:
            assert not in_run, f"{where}: a started run printed no partial result"
            assert output["error"]["message"] == "interrupted (SIGINT)"
        else:
            assert output["stop_reason"] == "interrupted", where
            assert json.loads((Path(output["run_dir"]) / "run.json").read_text())["status"] == (
                "interrupted"
            )


@pytest.mark.parametrize("third", [signal.SIGINT, signal.SIGTERM])
def test_a_third_signal_or_a_sigterm_ends_the_process_at_once(
    fake_openai: FakeOpenAIServer, tmp_path: Path, third: signal.Signals
) -> None:
    """Spaced 20 ms apart: signals of one kind that arrive together may merge into one."""
    process = hung_in_second_generation(fake_openai, tmp_path)
    for signum in (signal.SIGINT, signal.SIGINT, third):
        process.send_signal(signum)
        time.sleep(0.02)
    started = time.monotonic()
    _, err = process.communicate(timeout=10)
    assert time.monotonic() - started < 2
    assert process.returncode == 128 + third
    assert "Traceback" not in err
    assert f"stopped at once ({third.name})" in err


class _Panic(BaseException):
    """What pyo3 raises when an import it makes itself fails (pyo3_runtime.PanicException)."""


def test_a_signal_that_breaks_an_extensions_own_import_is_the_interrupt() -> None:
    """Caught under load: a Ctrl-C landing while pydantic-core imported datetime's C API came
    out as a PanicException with a traceback. Whatever breaks once a signal has come is that
    signal; without a signal the error is left as it is."""
    signals = Signals()
    with pytest.raises(Stopped) as stopped, signals.raising():
        signals.received.append(signal.SIGINT)  # the handler noted it; the import broke
        raise _Panic("failed to import `datetime` C API")
    assert stopped.value.exit_code == 130
    assert isinstance(stopped.value.__cause__, _Panic)
    with pytest.raises(_Panic), Signals().raising():
        raise _Panic("no signal: a real failure")
