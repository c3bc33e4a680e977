"""`stormline loadtest` end to end, small: a storm with every fault, and the report's verdict."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.server import STORMLINE


def test_a_small_storm_with_every_fault_loses_no_acknowledged_call(tmp_path: Path) -> None:
    """A burst, a web flood, a worker and Redis killed, partners down: every 2xx call stored once."""
    out = tmp_path / "results"
    options = "--duration 24 --peak 25 --map-clients 4 --flat-out 2 --connections 8 --faults --outage 6"
    options += " --web-flood 400"
    run = subprocess.run(
        [STORMLINE, "loadtest", *options.split(), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report = json.loads((out / "loadtest.json").read_text())
    verdict, storm, deliveries = report["verdict"], report["storm"], report["deliveries"]
    assert verdict["ok"] is True
    assert verdict["acknowledged_calls_lost"] == verdict["calls_stored_twice"] == 0
    assert storm["acknowledged"] > 200
    assert [f["fault"].split()[0] for f in report["faults"]] == ["911", "kill", "kill"]
    assert deliveries["psap"]["arrived"] == deliveries["psap"]["expected"] > 0
    assert deliveries["agency"]["arrived"] == deliveries["agency"]["expected"] > 0
    assert deliveries["psap"]["refused_while_down"] + deliveries["agency"]["refused_while_down"] > 0
    assert not any(verdict["problems"].values())
    assert storm["intake_to_map_ms"]["count"] > 0
    burst = report["burst"]  # 1,000 streams and then 500 calls at one instant: every one answered
    assert burst["stream_answers_by_status"] == {"200": 1000}
    assert burst["call_answers_by_status"] == {"201": 500}
    assert report["flat_out"]["bare_healthz"]["requests_per_s"] > 0
    spent = report["flat_out"]["intake"]["cpu_ms_per_request"]  # where the ratio's CPU went
    assert min(spent["workers"], spent["redis"], spent["load_generator"]) > 0
    flood = report["web_flood"]  # one address's robot, held to the form's limit of 10 reports an hour
    assert flood["reports_sent"] == 400
    filed = flood["answers_by_status"].get("201", 0) + flood["answers_by_status"].get("200", 0)
    assert 1 <= filed <= 10
    assert flood["answers_by_status"]["429"] >= 390
    assert (out / "storm.svg").read_text().startswith("<svg")
    assert "Verdict: OK" in (out / "loadtest.md").read_text()
