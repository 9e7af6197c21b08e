"""The benchmark tooling: generated data verifies and dedups; replay scripts are valid pgbench input."""
import os
import re
import shutil
import subprocess
import sys
import time

import orjson
import psycopg2
import pytest

from app.credentials import CredentialVerifier
from app.scoring.human_points import HumanPointsSettings
from app.scoring.service import CommunityLookup, ScoringService
from bench.ab import comparison
from bench.pgbench_replay import pgbench_script, strip_comments
from bench.pinned import pin, postgres_pids
from db.pool import Pool
from tests import dbutil
from tests.servers import ROOT
from web.responses import v2_score


def test_strip_comments_keeps_quoted_dashes():
    sql = "SELECT '--not a comment', 1 -- it's a comment\nFROM t -- another\n"
    assert strip_comments(sql) == "SELECT '--not a comment', 1 \nFROM t \n"


def test_pgbench_script_keeps_one_round_trip_per_statement():
    script = pgbench_script(["BEGIN", "SAVEPOINT lifo;\nWITH x AS (SELECT 1 -- note\n) SELECT * FROM x", "COMMIT"])
    assert script.splitlines() == ["BEGIN;", "SAVEPOINT lifo \\;", "WITH x AS (SELECT 1  ) SELECT * FROM x;",
                                   "COMMIT;"]


def seed_small(dsn: str, tmp_path):
    """12 addresses x 3 stamps (no shared nullifiers) and one POST payload; the manifest's path."""
    manifest_path = tmp_path / "manifest.json"
    subprocess.run([sys.executable, str(ROOT / "bench" / "seed.py"), "--dsn", dsn, "--addresses", "12",
                    "--stamps", "3", "--post-addresses", "1", "--processes", "1",
                    "--out", str(manifest_path)], check=True, capture_output=True)
    return manifest_path


@pytest.mark.slow
def test_seed_generates_verifiable_deduplicating_data(tmp_path):
    dsn = dbutil.create_database("bench_seed")
    try:
        manifest_path = tmp_path / "manifest.json"
        subprocess.run([sys.executable, str(ROOT / "bench" / "seed.py"), "--dsn", dsn, "--addresses", "40",
                        "--stamps", "3", "--post-addresses", "2", "--shared", "4", "--processes", "1",
                        "--out", str(manifest_path)], check=True, capture_output=True)
        manifest = orjson.loads(manifest_path.read_bytes())
        assert len(manifest["post_payloads"]) == 2
        conn = psycopg2.connect(dsn)
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM ceramic_cache_ceramiccache")
            assert cur.fetchone()[0] == 40 * 3
        conn.close()
        pool = Pool(dsn, size=2)
        service = ScoringService(pool, CredentialVerifier([manifest["issuer"]]), HumanPointsSettings())
        partner = CommunityLookup(manifest["partner_community"])
        first = v2_score(service.score("0x" + format(3, "040x"), partner).view())
        second = v2_score(service.score("0x" + format(4, "040x"), partner).view())
        pool.close()
        assert len(first["stamps"]) == 3 and first["passing_score"] is True
        assert second["stamps"]["P0"]["dedup"] is True  # address 4 reuses address 3's P0 nullifier
    finally:
        dbutil.drop_database(dsn)


@pytest.mark.slow
@pytest.mark.parametrize("endpoint, expected", [("v2", r"v2 score, 20 addresses"),
                                                ("post", r"bulk POST of 10 stamps, 200 addresses")])
def test_inprocess_measurement_runs_and_reports_cpu_per_request(endpoint, expected):
    env = {**os.environ, "BENCH_DATABASE_URL": dbutil.server_dsn()}  # the tests' server
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "inprocess.py"), "--addresses", "20",
                          "--requests", "40", "--greenlets", "4", "--endpoint", endpoint], check=True,
                         capture_output=True, text=True, timeout=300, env=env).stdout
    assert re.search(expected + r" x 10 stamps, 4 greenlet\(s\): \d+\.\d+ ms CPU per request", out), out


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_inprocess_counts_the_instructions_of_the_measured_passes_under_callgrind():
    env = {**os.environ, "BENCH_DATABASE_URL": dbutil.server_dsn()}
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "inprocess.py"), "--addresses", "20",
                          "--requests", "20", "--instructions"], check=True,
                         capture_output=True, text=True, timeout=600, env=env).stdout
    found = re.search(r"v2 score, 1 greenlet\(s\): (\d+\.\d+) million instructions per request "
                      r"\(callgrind, 60 requests\)", out)
    assert found, out
    # counted during the measured passes only: start-up and seeding are hundreds of millions
    assert 0.1 < float(found.group(1)) < 20, out


def test_memo_memory_measurement_reports_bytes_per_address():
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "memo_bytes.py"), "--addresses", "500"],
                         check=True, capture_output=True, text=True, timeout=60).stdout
    per_address = int(re.search(r"500 addresses of 10 stamps remembered, (\d+) bytes each", out).group(1))
    assert 200 < per_address < 500, out


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("pgbench") is None, reason="pgbench is not installed")
def test_replay_captures_the_steady_state_request_and_each_round_trip(tmp_path):
    """The ceiling replays warm requests (no credential fetch, no stamp copy, no API key read, the
    addresses own their links): one statement with the rescore memo, two round trips without."""
    dsn = dbutil.create_database("bench_replay")
    outs = {}
    try:
        manifest_path = seed_small(dsn, tmp_path)
        for memo in ("5000", "0"):
            outs[memo] = subprocess.run(
                [sys.executable, str(ROOT / "bench" / "pgbench_replay.py"), "--dsn", dsn,
                 "--manifest", str(manifest_path), "--clients", "2", "--seconds", "1",
                 "--samples", "5", "--per-round-trip"], env={**os.environ, "SCORE_MEMO_SIZE": memo},
                check=True, capture_output=True, text=True, timeout=120).stdout
    finally:
        dbutil.drop_database(dsn)
    for memo, out in outs.items():
        assert re.search(r"SQL and 1/100 of an analytics INSERT of 100 rows: 2 clients: \d+\.\d+ requests/s", out), out
        trips = re.findall(r"round trip (\d) \(5 scripts, 2 clients\): [\d.]+/s, ~[\d.]+ ms CPU: (.*)\.\.\.$", out,
                           re.M)
        starts = [text for _, text in trips]
        if memo == "0":
            assert [int(k) for k, _ in trips] == [1, 2], out
            assert starts[0].startswith("SELECT rd.*, md5(")  # stamp rows, passport, links, their digest
            assert starts[1].startswith("WITH passport AS (SELECT id FROM registry_passport WHERE id =")
        else:
            assert [int(k) for k, _ in trips] == [1], out
            assert starts[0].startswith("WITH memo_read AS MATERIALIZED (SELECT rd.*, md5(")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_ab_serves_both_checkouts_and_alternates_the_runs(tmp_path):
    dsn = dbutil.create_database("bench_ab")
    try:
        manifest_path = seed_small(dsn, tmp_path)
        out = subprocess.run([sys.executable, str(ROOT / "bench" / "ab.py"), "--dsn", dsn, "--manifest",
                              str(manifest_path), "--a", str(ROOT), "--rounds", "2", "--seconds", "1",
                              "--connections", "2", "--sweeps", "1", "--hot-set", "3"],
                             check=True, capture_output=True, text=True, timeout=300).stdout
    finally:
        dbutil.drop_database(dsn)
    runs = re.findall(r"^([AB]): [\d.]+ req/s, p50 [\d.]+ ms, p99 [\d.]+ ms, errors (\d+).*; row cache misses "
                      r"(?:[\d.]+%|none), memo hits \d+%; waits", out, re.M)
    assert [name for name, _ in runs] == ["A", "B", "B", "A"] * 2, out  # every address, then the hot set
    assert all(errors == "0" for _, errors in runs), out
    for name in "AB":
        for addresses in ("every address", "3 addresses"):
            assert re.search(rf"^{name} \(over {addresses}\): median [\d.]+ req/s", out, re.M), out
    for addresses in ("every address", "3 addresses"):
        assert re.search(rf"^B against A \(over {addresses}\): req/s [+-][\d.]+%, .*workers [+-][\d.]+% "
                         r"\(runs A [\d.]+-[\d.]+, B [\d.]+-[\d.]+ ms\)", out, re.M), out
    assert re.search(r"waits: .*; checkpoints \d+$", out, re.M), out


TWO_CPUS = len(os.sched_getaffinity(0)) >= 2


@pytest.mark.skipif(not TWO_CPUS, reason="needs two CPUs")
def test_pinning_sets_every_thread_of_a_process_to_the_cpus_given_and_back():
    both = os.sched_getaffinity(0)
    first = min(both)
    child = subprocess.Popen([sys.executable, "-c", "import threading, time\n"
                              "threading.Thread(target=time.sleep, args=(30,)).start()\n"
                              "print(flush=True)\ntime.sleep(30)"], stdout=subprocess.PIPE)
    try:
        child.stdout.readline()  # its second thread runs
        threads = [int(t) for t in os.listdir(f"/proc/{child.pid}/task")]
        assert len(threads) == 2
        pin([child.pid], {first})
        assert [os.sched_getaffinity(t) for t in threads] == [{first}, {first}]
        pin([child.pid], both)
        assert [os.sched_getaffinity(t) for t in threads] == [both, both]
    finally:
        child.kill()
        child.wait()
    pin([child.pid], {first})  # a process gone meanwhile is skipped


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
@pytest.mark.skipif(not TWO_CPUS or os.geteuid() != 0, reason="needs two CPUs and root (PostgreSQL's affinity)")
def test_pinned_alternates_shared_and_pinned_runs_and_gives_every_process_both_cpus_back(tmp_path):
    dsn = dbutil.create_database("bench_pinned")
    try:
        manifest_path = seed_small(dsn, tmp_path)
        out = subprocess.run([sys.executable, str(ROOT / "bench" / "pinned.py"), "--dsn", dsn, "--manifest",
                              str(manifest_path), "--rounds", "2", "--seconds", "1", "--connections", "2",
                              "--addresses", "3", "--warmups", "0"],
                             check=True, capture_output=True, text=True, timeout=300).stdout
    finally:
        dbutil.drop_database(dsn)
    runs = re.findall(r"^(shared|pinned): [\d.]+ req/s, p50 [\d.]+ ms, p99 [\d.]+ ms \([\d.]+x\), errors (\d+), "
                      r"CPU ms/request workers [\d.]+ / PostgreSQL [\d.]+$", out, re.M)
    assert runs == [("shared", "0"), ("pinned", "0"), ("pinned", "0"), ("shared", "0")], out
    for mode in ("shared", "pinned"):
        assert re.search(rf"^{mode} \(medians of 2\): [\d.]+ req/s, p50 [\d.]+ ms, p99 [\d.]+ ms; CPU ms/request "
                         r"workers [\d.]+ / PostgreSQL [\d.]+; p99 / p50 run by run [\d.]+, [\d.]+$", out, re.M), out
    both = os.sched_getaffinity(0)
    assert {pid: os.sched_getaffinity(pid) for pid in postgres_pids()} == {pid: both for pid in postgres_pids()}


def test_ab_compares_the_medians_in_percent_with_each_sides_spread_and_ratio():
    def run(rps, p99, workers, postgres):
        return {"rps": rps, "p50": 10.0, "p99": p99, "cpu_ms": {"workers": workers, "postgres": postgres}}

    a = [run(800, 50, 0.90, 1.40), run(820, 60, 1.00, 1.30), run(780, 55, 0.94, 1.34)]
    b = [run(1300, 35, 0.66, 0.75), run(1200, 40, 0.74, 0.80), run(1320, 30, 0.64, 0.70)]
    line = comparison("over every address", a, b)
    assert line == ("B against A (over every address): req/s +62.5%, p50 +0.0%, p99 -36.4%; CPU per request: "
                    "workers -29.8% (runs A 0.90-1.00, B 0.64-0.74 ms), PostgreSQL -44.0%; "
                    "workers / PostgreSQL A 0.70, B 0.88")
    assert "PostgreSQL n/a" in comparison("x", [run(1, 1, 1.0, 0.0)], [run(1, 1, 1.0, 0.0)])


def test_vacuumer_stands_in_for_autovacuum_only_when_the_server_runs_without_it():
    from bench.vacuum import Vacuumer

    dsn = dbutil.create_database("bench_vacuum")
    try:
        conn = psycopg2.connect(dsn)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE t (id int PRIMARY KEY, n int); "
                        "INSERT INTO t SELECT g, 0 FROM generate_series(1, 100) g; UPDATE t SET n = 1")
            cur.execute("SHOW autovacuum")
            off = cur.fetchone()[0] == "off"
        vacuumer = Vacuumer(dsn, interval=0.05)
        assert vacuumer.needed is off
        vacuumer.start()
        time.sleep(0.4)
        vacuumer.stop()
        assert not vacuumer.is_alive()
        with conn.cursor() as cur:
            cur.execute("SELECT n_dead_tup, last_vacuum IS NOT NULL, last_analyze IS NOT NULL "
                        "FROM pg_stat_user_tables WHERE relname = 't'")
            dead, vacuumed, analyzed = cur.fetchone()
        conn.close()
        if off:
            assert vacuumer.passes >= 2 and vacuumed and analyzed and dead == 0
            assert vacuumer.describe().startswith("autovacuum off on this server")
        else:
            assert vacuumer.passes == 0 and vacuumer.describe() == "autovacuum on"
    finally:
        dbutil.drop_database(dsn)


def test_vacuumer_pass_follows_autovacuums_rules_and_throttle():
    """Only the tables autovacuum would pick, with the action it would take, at its cost delay."""
    from bench.vacuum import Vacuumer, needs, throttle

    dsn = dbutil.create_database("bench_vacuum_rules")
    try:
        # Each step on a connection of its own: a backend's statistics reach the server when it exits,
        # so the ANALYZE must come after the inserts are counted, and the pass after the changes.
        run_sql(dsn, *[f"CREATE TABLE {table} (id int PRIMARY KEY, n int) WITH (autovacuum_enabled = false);"
                       f"INSERT INTO {table} SELECT g, 0 FROM generate_series(1, {rows}) g"
                       # the server's own autovacuum, where it runs, must leave these tables to the pass
                       for table, rows in (("churned", 100), ("calm", 1000), ("appended", 1000))])
        run_sql(dsn, "VACUUM (ANALYZE) calm", "VACUUM (ANALYZE) appended")
        run_sql(dsn, "UPDATE churned SET n = 1",             # 100 dead of 100: vacuum and analyze
                "UPDATE calm SET n = 1 WHERE id <= 10",      # 10 of 1,000: below both thresholds
                # 1,300 new rows of 1,000: over the insert threshold (1,000 + 0.2 x 1,000) and the analyze one
                "INSERT INTO appended SELECT g, 0 FROM generate_series(1001, 2300) g")
        vacuumer = Vacuumer(dsn)
        done = dict(vacuumer.autovacuum_pass())
        assert done == {"public.churned": "VACUUM (ANALYZE)", "public.appended": "VACUUM (ANALYZE)"}
        assert (vacuumer.vacuumed, vacuumer.analyzed, vacuumer.passes) == (2, 2, 1)
        assert vacuumer.autovacuum_pass() == []  # nothing changed since
        conn = psycopg2.connect(dsn)
        with conn.cursor() as cur:
            cur.execute("SELECT relname, n_dead_tup, last_vacuum IS NOT NULL FROM pg_stat_user_tables "
                        "WHERE relname IN ('appended', 'calm', 'churned') ORDER BY 1")
            assert cur.fetchall() == [("appended", 0, True), ("calm", 10, True), ("churned", 0, True)]
            cur.execute("SHOW autovacuum_vacuum_cost_delay")
            server_delay = cur.fetchone()[0]
        conn.close()
        assert vacuumer.interval == vacuumer.settings["autovacuum_naptime"]
        settings = vacuumer.settings
        assert throttle(settings)[0] == (settings["vacuum_cost_delay"] if server_delay == "-1"
                                         else float(server_delay.removesuffix("ms")))
        assert throttle({**settings, "autovacuum_vacuum_cost_delay": -1, "vacuum_cost_delay": 7,
                         "autovacuum_vacuum_cost_limit": -1, "vacuum_cost_limit": 300}) == (7, 300)
        dead_limit = settings["autovacuum_vacuum_threshold"] + settings["autovacuum_vacuum_scale_factor"] * 1000
        changed_limit = settings["autovacuum_analyze_threshold"] + settings["autovacuum_analyze_scale_factor"] * 1000
        assert needs(settings, 1000, dead_limit + 1, 0, 0) == (True, False)
        assert needs(settings, 1000, dead_limit, 0, changed_limit + 1) == (False, True)
    finally:
        dbutil.drop_database(dsn)


def run_sql(dsn: str, *statements: str) -> None:
    """Each statement in autocommit on one new connection, closed (its statistics sent) with a pause."""
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        for statement in statements:
            cur.execute(statement)
    conn.close()
    time.sleep(0.3)


def test_the_wait_sampler_sees_what_backends_wait_for(database_url):
    from bench.waits import WaitSampler

    conn = psycopg2.connect(database_url)
    conn.autocommit = True
    try:
        with WaitSampler(database_url, interval=0.05) as sampler:
            with conn.cursor() as cur:
                cur.execute("SELECT pg_sleep(0.5)")
        assert sampler.samples >= 5
        assert sampler.counts["Timeout:PgSleep"] >= 5  # the sleeping backend, not the sampler's own
        assert sampler.summary().startswith("Timeout:PgSleep ")
        assert re.search(r"; checkpoints \d+$", sampler.summary())
    finally:
        conn.close()


def test_the_overload_report_reads_the_access_log_by_status(tmp_path):
    from bench.overload import access_log, percentile

    log = tmp_path / "gunicorn.log"
    lines = [{"logger": "access", "route": "/v2/stamps/{scorer_id}/score/{address}", "path": "/v2/stamps/1/score/0x1",
              "status": s, "duration_ms": d} for s, d in [(200, 30.0), (200, 4000.0), (503, 2.0)]]
    lines.append({"logger": "access", "route": "<shed>", "path": "/v2/stamps/1/score/0x2", "status": 503,
                  "duration_ms": 0.1, "shed": "pace"})
    log.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines) + b'{"logger":"app","message":"x"}\n')
    by_status, offset = access_log(log, 0)
    assert by_status == {"200": [30.0, 4000.0], "503 in the handler": [2.0], "503 at the door (pace)": [0.1]}
    assert offset == log.stat().st_size
    assert access_log(log, offset)[0] == {}
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 3.0
