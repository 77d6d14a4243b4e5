"""The command line: options after the subcommand, exit codes, the loop and SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pty
import random
import re
import signal
import sys
import termios
from pathlib import Path
from typing import Any

import pytest

from scrapers.smard.__main__ import build_parser, main
from scrapers.smard.schedule import next_delay, run_forever
from scrapers.smard.settings import ScheduleSettings
from tests.scrapers.smard.fake_server import FakeSmard, FakeSmardServer, Fault

REPO = Path(__file__).parents[3]


LOAD_SERIES = '[[series]]\nfilter = 410\nregion = "DE"\nresolution = "hour"\n'


async def start_scraper(
    tmp_path: Path, config: str, *argv: str, base_url: str, gateway_url: str, stderr: Any
) -> asyncio.subprocess.Process:
    """`python -m scrapers.smard ARGV` with CONFIG as its TOML file, aimed at both servers."""
    path = tmp_path / "smard.toml"
    path.write_text(config, encoding="utf-8")
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "scrapers.smard", *argv, "--config", str(path),
        "--base-url", base_url, "--gateway-url", gateway_url,
        cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=stderr,
    )  # fmt: skip


def test_options_are_accepted_after_the_subcommand() -> None:
    args = build_parser().parse_args(
        [
            "backfill",
            "--from",
            "2025-03-30",
            "--config",
            "x.toml",
            "--base-url",
            "http://b",
            "--gateway-url",
            "http://g/graphql",
        ]  # fmt: skip
    )
    assert (args.command, str(args.first_day), args.last_day) == ("backfill", "2025-03-30", None)
    assert (args.base_url, args.gateway_url, args.config) == (
        "http://b",
        "http://g/graphql",
        Path("x.toml"),
    )
    assert build_parser().parse_args(["run", "--once"]).once is True


@pytest.fixture
def keep_logging(monkeypatch: pytest.MonkeyPatch) -> None:
    """main() configures process-wide logging; keep pytest's handlers in place."""
    monkeypatch.setattr("scrapers.smard.__main__.configure_logging", lambda: None)


@pytest.mark.usefixtures("keep_logging")
def test_bad_configuration_exits_2_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[[series]]\nfilter = 4170\nregion = "AT"\nresolution = "hour"\n')
    assert main(["run", "--once", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "series.0" in err and "not published for region 'AT'" in err


@pytest.mark.usefixtures("keep_logging")
def test_backfill_rejects_a_reversed_range(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["backfill", "--from", "2025-03-30", "--to", "2025-03-01"]
    assert main([*argv, "--gateway-url", "http://127.0.0.1:9/graphql"]) == 2
    assert "--to is before --from" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        build_parser().parse_args(["backfill", "--from", "30.03.2025"])


def test_next_delay_is_the_interval_with_bounded_jitter() -> None:
    schedule = ScheduleSettings(interval_seconds=3600, jitter_seconds=300)
    rng = random.Random(5)
    delays = [next_delay(schedule, rng) for _ in range(200)]
    assert all(3300 <= d <= 3900 for d in delays)
    assert min(delays) < 3400 and max(delays) > 3800  # the jitter really spreads the runs


async def test_loop_runs_until_stopped_and_cancels_a_run_in_progress() -> None:
    stop = asyncio.Event()
    runs: list[str] = []

    async def run_once() -> None:
        runs.append("started")
        if runs.count("started") == 3:
            stop.set()  # SIGTERM arrives while the third run is busy
            await asyncio.sleep(3600)
        runs.append("finished")

    schedule = ScheduleSettings(interval_seconds=0.01, jitter_seconds=0)
    await asyncio.wait_for(run_forever(run_once, schedule, stop, random.Random(1)), timeout=10)
    assert runs == ["started", "finished", "started", "finished", "started"]


async def test_sigterm_stops_the_scraper_cleanly(
    smard_server: FakeSmardServer, fake: FakeSmard, live_gateway: Any, tmp_path: Path
) -> None:
    config = "[http]\nrequests_per_second = 100\n[schedule]\ninterval_seconds = 3600\n"
    proc = await start_scraper(
        tmp_path, config + LOAD_SERIES, "run",
        base_url=smard_server.base_url, gateway_url=live_gateway.url,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    events: list[dict[str, Any]] = []
    while not any(e["event"] == "next run scheduled" for e in events):
        line = await asyncio.wait_for(proc.stderr.readline(), timeout=30)
        assert line, "scraper exited before its first run finished"
        events.append(json.loads(line))
    proc.send_signal(signal.SIGTERM)
    rest, _ = await asyncio.wait_for(proc.communicate(), timeout=10)
    assert proc.returncode == 0
    synced = [e for e in events if e["event"] == "series synced"]
    assert [(e["series"], e["outcome"], e["rows"]) for e in synced] == [
        ("smard:410:DE:hour", "ok", 169 + 168 + 62)
    ]


async def test_sigterm_during_a_slow_run_exits_promptly(
    smard_server: FakeSmardServer, fake: FakeSmard, live_gateway: Any, tmp_path: Path
) -> None:
    fake.inject("410/DE/index_hour", Fault.slow(30))
    config = "[http]\nrequests_per_second = 100\ntimeout_seconds = 60\n"
    proc = await start_scraper(
        tmp_path, config + LOAD_SERIES, "run",
        base_url=smard_server.base_url, gateway_url=live_gateway.url,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert await asyncio.to_thread(fake.arrived.wait, 30)  # the index request is hanging now
    proc.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(proc.communicate(), timeout=10)
    assert proc.returncode == 0, err
    assert b"run cancelled" in err and b"scraper stopped" in err


def test_help_names_the_environment_variables_and_the_date_format(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for argv in (["--help"], ["run", "--help"], ["backfill", "--help"]):
        with pytest.raises(SystemExit):
            build_parser().parse_args(argv)
        out = capsys.readouterr().out
        for name in ("GATEWAY_URL", "GATEWAY_TOKEN", "SMARD_BASE_URL", "SMARD_<SECTION>__<KEY>"):
            assert name in out, (argv, name)
        assert "YYYY-MM-DD" in out and "Europe/Berlin" in out


async def test_progress_bar_on_a_terminal_shows_its_total_below_whole_log_lines(
    smard_server: FakeSmardServer, fake: FakeSmard, live_gateway: Any, tmp_path: Path
) -> None:
    pv = '[[series]]\nfilter = 4068\nregion = "DE"\nresolution = "hour"\n'
    config = "[http]\nrequests_per_second = 100\n" + LOAD_SERIES + pv
    primary, replica = pty.openpty()  # stderr is a terminal: tqdm draws its bar
    termios.tcsetwinsize(replica, (24, 120))
    try:
        proc = await start_scraper(
            tmp_path, config, "backfill", "--from", "2025-10-20", "--to", "2025-11-05",
            base_url=smard_server.base_url, gateway_url=live_gateway.url, stderr=replica,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
    finally:
        os.close(replica)
    terminal = b""
    with contextlib.suppress(OSError):  # EIO once the child's side is closed and drained
        while chunk := os.read(primary, 65536):
            terminal += chunk
    os.close(primary)
    assert proc.returncode == 0, terminal
    assert b"chunks fetched: 6" in out
    # tqdm redraws its line after a carriage return; a log line written through the bar
    # would share a piece with it instead of starting its own.
    pieces = re.split(r"\r\n|\r|\n", terminal.decode())
    logs = [json.loads(piece) for piece in pieces if piece.startswith("{")]
    synced = sorted(e["series"] for e in logs if e["event"] == "series synced")
    assert synced == ["smard:4068:DE:hour", "smard:410:DE:hour"]
    assert [piece for piece in pieces if "{" in piece and not piece.startswith("{")] == []
    assert any("6/6" in piece for piece in pieces), terminal
