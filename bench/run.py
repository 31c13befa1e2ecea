"""nmt-rules benchmark: every contender on the same maps and rules, in one run, as ratios.

    python bench/run.py [--quick] [--sizes core,200,1000,4000] [--out bench/results.json]

Prints a table per ruleset size, writes bench/results.json atomically and ends with one line
`SUMMARY {json}`. Needs the `bench` extra for the peers: pip install -e '.[bench]'.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import contenders as c  # noqa: E402
from maps import brain_maps  # noqa: E402

from nmt_rules import parse_brain_map  # noqa: E402
from nmt_rules.api import default_planner  # noqa: E402
from nmt_rules.batch import Output, Source, default_jobs  # noqa: E402
from nmt_rules.batch import run as run_batch  # noqa: E402
from nmt_rules.plugins import load_plugins  # noqa: E402

SIZES = ("core", "200", "1000", "4000")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    """Resident set size of this process, from /proc/self/statm."""
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * _PAGE


def _missing_peers() -> list[str]:
    missing = []
    for module in ("zen", "rule_engine"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    return missing


# Maps per size and mode; slow contenders run on a prefix (rates stay comparable).
_MAPS = {"core": 2000, "200": 1000, "1000": 300, "4000": 100}
_QUICK_MAPS = {"core": 300, "200": 200, "1000": 60, "4000": 20}
_SLOW_SHARE = {"reference": 0.5, "zen": 0.5, "rule_engine": 0.05}
_SLOW_CAP = {"rule_engine": 3}  # at most this many maps a round (about 1 s each at 4,000 rules)


def _batch(contender: c.Contender, inputs: Sequence[c.Inputs]) -> Sequence[c.Inputs]:
    """The maps a contender runs each round (the slow ones run a share of them)."""
    size = max(3, int(len(inputs) * _SLOW_SHARE.get(contender.name, 1.0)))
    return inputs[: min(size, _SLOW_CAP.get(contender.name, size))]


def measure(
    contenders: Sequence[c.Contender], inputs: Sequence[c.Inputs], repeats: int
) -> dict[str, dict[str, Any]]:
    """Interleaved rounds: every contender runs once per round, order rotating, so noise
    hits all alike. Per-call latencies give p50/p99; firings are checked on every call."""
    lat: dict[str, list[int]] = {k.name: [] for k in contenders}
    lost = dict.fromkeys(lat, 0)
    for round_number in range(repeats):
        order = list(contenders)
        order = order[round_number % len(order) :] + order[: round_number % len(order)]
        for contender in order:
            batch = _batch(contender, inputs)
            run, fired, expected = contender.run, contender.fired, contender.expected
            times = lat[contender.name]
            clock = time.perf_counter_ns
            for item in batch:
                start = clock()
                result = run(item)
                times.append(clock() - start)
                got, want = fired(result), expected(item)
                if got != want:
                    lost[contender.name] += len(got ^ want)
    out = {}
    for name, times in lat.items():
        ordered = sorted(times)
        out[name] = {
            "maps": len(times),
            "maps_per_s": len(times) / (sum(times) / 1e9),
            "p50_us": ordered[len(ordered) // 2] / 1e3,
            "p99_us": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] / 1e3,
            "lost_firings": lost[name],
        }
    return out


def memory(run: Callable[[int], None], evaluations: int, warmup: int) -> dict[str, Any]:
    """RSS after warm-up, then after `evaluations` more end-to-end plans."""
    run(warmup)
    before = rss_bytes()
    run(evaluations)
    after = rss_bytes()
    return {
        "evaluations": evaluations,
        "warmup": warmup,
        "rss_before_mb": before / 2**20,
        "rss_after_mb": after / 2**20,
        "rss_growth_pct": 100.0 * (after - before) / before,
    }


def host_api_start(size: str, maps: int) -> subprocess.Popen[str]:
    """Start the durable Host API run in a subprocess (it runs timer threads, has crashed)."""
    command = [sys.executable, str(HERE / "hostapi.py"), size, str(maps), "7"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def host_api_result(process: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    """The Host API run's JSON line, or what went wrong."""
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return {"error": f"timed out after {timeout:.0f} s"}
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if process.returncode != 0 or not lines:
        return {"error": f"exit {process.returncode}: {stderr.strip()[-300:]}"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def http_load_test(quick: bool, workers: int = 1) -> dict[str, Any]:
    """Loopback load test of `nmt-rules serve --workers N`: clients post the benchmark's maps
    over keep-alive connections for a bounded number of requests and seconds, then stop."""
    requests = 400 if quick else 4000
    deadline_s = 10.0 if quick else 30.0
    clients = 4
    bodies = [json.dumps(m).encode() for m in brain_maps(200)]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "nmt_rules.cli", "serve"),
            *("--port", str(port), "--workers", str(workers)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        if not _wait_for(port, timeout_s=20.0):
            return {"applicable": True, "error": "the server did not start within 20 s"}
        for body in bodies[:20]:  # warm the server up: first requests are not representative
            urllib.request.urlopen(
                urllib.request.Request(
                    f"http://127.0.0.1:{port}/v1/plans?setting=school",
                    body,
                    {"content-type": "application/json"},
                ),
                timeout=10,
            ).close()
        latencies: list[float] = []
        errors = 0
        lock = threading.Lock()
        stop_at = time.perf_counter() + deadline_s
        counter = iter(range(requests))

        def client() -> None:
            nonlocal errors
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            for number in counter:
                if time.perf_counter() > stop_at:
                    break
                body = bodies[number % len(bodies)]
                began = time.perf_counter_ns()
                try:
                    connection.request(
                        "POST",
                        "/v1/plans?setting=school",
                        body,
                        {"content-type": "application/json"},
                    )
                    reply = connection.getresponse()
                    reply.read()
                    ok = reply.status == 200
                except (OSError, http.client.HTTPException):
                    ok = False
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                with lock:
                    latencies.append((time.perf_counter_ns() - began) / 1000)
                    errors += not ok
            connection.close()

        started = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=10)
    ordered = sorted(latencies)
    return {
        "applicable": True,
        "workers": workers,
        "clients": clients,
        "requests": len(latencies),
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_us": round(ordered[len(ordered) // 2], 1) if ordered else None,
        "p99_us": round(ordered[int(len(ordered) * 0.99)], 1) if ordered else None,
        "errors": errors,
    }


def batch_scaling(quick: bool) -> dict[str, Any]:
    """`nmt-rules batch` on 10,000 maps (JSON Lines) in one process and in one per core,
    timed around `batch.run` in this process: interpreter start-up excluded, worker start-up,
    reading, planning and writing included. Rounds alternate; each count keeps its best.
    The outputs must be byte-identical."""
    count = 10_000
    cores = default_jobs()
    counts = sorted({1, cores})
    planner = default_planner()
    best: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "maps.jsonl"
        source.write_text("".join(json.dumps(m) + "\n" for m in brain_maps(count)))
        outputs: dict[int, bytes] = {}
        for _ in range(2 if quick else 3):
            for jobs in counts:
                out = Path(folder) / f"plans-{jobs}.jsonl"
                records = Source.open(str(source))
                output = Output.open(str(out), records, resume=False)
                started = time.perf_counter()
                summary = run_batch(records, output, planner, (), None, jobs)
                elapsed = time.perf_counter() - started
                assert summary.records == count
                best[jobs] = min(elapsed, best.get(jobs, elapsed))
                outputs[jobs] = out.read_bytes()
    rates = {f"jobs_{jobs}_plans_per_s": round(count / best[jobs], 1) for jobs in counts}
    return {
        "maps": count,
        "cores": cores,
        **rates,
        "speedup": round(best[1] / best[cores], 2),
        "identical_output": len(set(outputs.values())) == 1,
    }


def _wait_for(port: int, timeout_s: float) -> bool:
    give_up = time.perf_counter() + timeout_s
    while time.perf_counter() < give_up:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def bench_size(size: str, quick: bool, peers: bool) -> dict[str, Any]:
    plugins = load_plugins()
    started = time.perf_counter()
    planner = c.planner_for(size, plugins)
    compiled_s = time.perf_counter() - started  # generated, compiled and loaded into durable
    program = planner.internals.program
    rulesets = program.rulesets
    count = (_QUICK_MAPS if quick else _MAPS)[size]
    maps = [parse_brain_map(d) for d in brain_maps(count)]
    inputs = c.prepare(planner, maps)
    contenders = [
        c.end_to_end(planner),
        c.engine_core(planner),
        c.durable_core(program),
        c.reference(program),
    ]
    if peers and size != "core" and c.conjunctive(rulesets):
        contenders += [c.zen(program), c.rule_engine(program)]
    # Warm up: one untimed round over the same maps, so every contender is measured in the
    # steady state of a long-running host (for nmt-rules: catalogue resolutions cached).
    for contender in contenders:
        for item in _batch(contender, inputs):
            contender.run(item)
    results = measure(contenders, inputs, 2 if quick else 3)
    for contender in contenders:
        if contender.closer:
            contender.closer()
    evaluations = 100_000  # the yardstick, at every size (about 6 minutes at 4,000 rules)
    if quick:
        evaluations = {"core": 5_000, "200": 2_000, "1000": 500, "4000": 100}[size]

    def plans(n: int) -> None:
        for i in range(n):
            item = inputs[i % len(inputs)]
            planner.plan(item.brain_map, item.setting)

    # The Host API runs in its own process meanwhile (RSS is per process; no timing now).
    host_run = host_api_start(size, 20 if quick else 100)
    mem = memory(plans, evaluations, max(200, evaluations // 20))
    host = host_api_result(host_run, 60 if quick else 240)
    shards = [len(p) for p in program.passes]
    firings = statistics.mean(len(i.expected) for i in inputs)
    planner.close()
    return {
        "rules": len(program.rules),
        "passes": len(program.passes),
        "handles": sum(shards),
        "handles_per_pass": shards,
        "compile_s": compiled_s,
        "maps": count,
        "firings_per_map": firings,
        "contenders": results,
        "host_api": host,
        "memory": mem,
        "elapsed_s": time.perf_counter() - started,
    }


def summarise(size: str, r: dict[str, Any]) -> dict[str, Any]:
    k = r["contenders"]

    def rate(name: str) -> float | None:
        return round(k[name]["maps_per_s"], 1) if name in k else None

    host = r["host_api"]
    lost = sum(v["lost_firings"] for v in k.values())
    out = {
        "rules": r["rules"],
        "nmt_rules_maps_per_s": rate("nmt_rules"),
        "engine_core_maps_per_s": rate("engine_core"),
        "durable_core_maps_per_s": rate("durable_core"),
        "reference_maps_per_s": rate("reference"),
        "host_api_maps_per_s": round(host["maps_per_s"], 1) if "maps_per_s" in host else None,
        "zen_maps_per_s": rate("zen"),
        "rule_engine_maps_per_s": rate("rule_engine"),
        "lost_firings": lost,
        "host_api_lost_firings": host.get("lost_firings"),
        "nmt_rules_p50_us": round(k["nmt_rules"]["p50_us"], 1),
        "nmt_rules_p99_us": round(k["nmt_rules"]["p99_us"], 1),
        "rss_growth_pct": round(r["memory"]["rss_growth_pct"], 2),
        "rss_evaluations": r["memory"]["evaluations"],
        "nmt_rules_vs_durable_core": round(
            k["nmt_rules"]["maps_per_s"] / k["durable_core"]["maps_per_s"], 3
        ),
        "engine_core_vs_durable_core": round(
            k["engine_core"]["maps_per_s"] / k["durable_core"]["maps_per_s"], 3
        ),
    }
    for peer in ("zen", "rule_engine"):
        if peer in k:
            out[f"nmt_rules_vs_{peer}"] = round(
                k["nmt_rules"]["maps_per_s"] / k[peer]["maps_per_s"], 2
            )
    return out


def targets(summary: dict[str, dict[str, Any]]) -> dict[str, bool]:
    """The benchmark's pass/fail goals. End to end against the floor
    (`nmt_rules_vs_durable_core`) is reported, not a target: the goal is the engine layer at
    0.6x the bare durable core or better."""
    checks = {"zero_lost_firings": all(s["lost_firings"] == 0 for s in summary.values())}
    checks["engine_core_at_least_0.6x_durable_core"] = all(
        s["engine_core_vs_durable_core"] >= 0.6 for s in summary.values()
    )
    for size in ("200", "1000"):
        s = summary.get(size, {})
        if "nmt_rules_vs_zen" in s:
            checks[f"2x_zen_at_{size}"] = s["nmt_rules_vs_zen"] >= 2
            checks[f"5x_rule_engine_at_{size}"] = s["nmt_rules_vs_rule_engine"] >= 5
    if "4000" in summary:
        checks["4000_rules_compile_and_run"] = summary["4000"]["lost_firings"] == 0
    checks["rss_growth_under_5pct"] = all(s["rss_growth_pct"] < 5 for s in summary.values())
    if "core" in summary:
        checks["p99_under_2ms_core"] = summary["core"]["nmt_rules_p99_us"] < 2000
    return checks


def environment() -> dict[str, Any]:
    """What the figures depend on: the code (git commit), the packages, the machine."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=HERE, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = bool(
            subprocess.run(
                ["git", "status", "--porcelain"], cwd=HERE, capture_output=True, text=True
            ).stdout.strip()
        )
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = None, False
    cpu = None
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as f:
        cpu = next(
            (line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), None
        )
    packages: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    return {
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "cpu_model": cpu or platform.processor() or None,
        "platform": platform.platform(),
        "git_commit": commit,
        "git_dirty": dirty,
        "packages": packages,
    }


#: Packages whose versions shape the figures.
_PACKAGES = (
    "nmt-rules",
    "durable-rules",
    "orjson",
    "cattrs",
    "fastjsonschema",
    "uvicorn",
    "starlette",
    "httptools",
    "uvloop",
    "zen-engine",
    "rule-engine",
)


def write_atomically(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".results-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    os.replace(temp, path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer maps and evaluations")
    parser.add_argument("--sizes", default=",".join(SIZES))
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    args = parser.parse_args(argv)
    missing = _missing_peers()
    if missing:
        print(
            f"note: {', '.join(missing)} not installed; the peers are skipped. "
            "Install them with: pip install -e '.[bench]'",
            file=sys.stderr,
        )
    began = time.perf_counter()
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    results: dict[str, Any] = {}
    summary: dict[str, dict[str, Any]] = {}
    for size in sizes:
        print(f"--- ruleset {size} ---", flush=True)
        results[size] = bench_size(size, args.quick, not missing)
        summary[size] = summarise(size, results[size])
        r = results[size]
        print(
            f"{r['rules']} rules, {r['passes']} passes, {r['handles']} handles, "
            f"{r['firings_per_map']:.1f} firings/map, compiled and loaded in {r['compile_s']:.1f} s"
        )
        for name, v in r["contenders"].items():
            print(
                f"  {name:<13} {v['maps_per_s']:>10.0f} maps/s  p50 {v['p50_us']:>8.1f} us"
                f"  p99 {v['p99_us']:>9.1f} us  lost {v['lost_firings']}  ({v['maps']} calls)"
            )
        host = r["host_api"]
        print(f"  host_api      {json.dumps(host)}")
        m = r["memory"]
        print(
            f"  memory: {m['rss_before_mb']:.1f} -> {m['rss_after_mb']:.1f} MB "
            f"({m['rss_growth_pct']:+.2f}%) over {m['evaluations']} plans after {m['warmup']} warm-up"
        )
    if args.quick:
        print("quick mode: fewer maps, and fewer than 100,000 evaluations for the memory check")
    print("--- batch (10,000 maps, JSON Lines) ---", flush=True)
    batch = batch_scaling(args.quick)
    print(f"  {json.dumps(batch)}", flush=True)
    print("--- HTTP (loopback) ---", flush=True)
    http: dict[str, Any] = {}
    for workers in (1, 2):
        http[f"workers_{workers}"] = http_load_test(args.quick, workers)
        print(f"  {workers} worker(s): {json.dumps(http[f'workers_{workers}'])}", flush=True)
    checks = targets(summary)
    if batch["cores"] > 1:  # 1.7x on 2 cores: 85% of a core for each one added
        checks[f"batch_{batch['cores']}_processes_at_least_{0.85 * batch['cores']:g}x"] = (
            batch["speedup"] >= 0.85 * batch["cores"]
        )
    checks["batch_output_identical_for_any_jobs"] = batch["identical_output"]
    data = {
        "quick": args.quick,
        **environment(),
        "elapsed_s": time.perf_counter() - began,
        "sizes": results,
        "batch": batch,
        "http": http,
        "summary": summary,
        "targets": checks,
    }
    write_atomically(args.out, data)
    for name, ok in checks.items():
        print(f"target {name}: {'met' if ok else 'NOT met'}")
    print(
        "SUMMARY "
        + json.dumps(
            {"quick": args.quick, **summary, "batch": batch, "http": http, "targets": checks}
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
