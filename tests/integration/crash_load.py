#!/usr/bin/env python3
"""kill -9 during a streaming load, seeded: acknowledged writes survive,
nothing is duplicated, and the recovered graph is the one a clean run builds.

For each seed:
  1. reconnu-datagen --persons P --seed S writes a CSV (cached in --work).
  2. reconnu-server starts on a fresh --data-dir with --sync always (odd
     seeds also with --snapshot-every-ops 300, so snapshots are written
     while the load runs and a kill can land during one).
  3. The CSV streams over UpsertStream (Python grpcio), row number as the
     message's `sequence`, a seeded ack_every; every progress ack raises the
     acknowledged row (an ack is sent only once what it counts is durable).
  4. Once the acknowledged row passes a seeded target, a timer sends SIGKILL
     after a seeded 0..8 ms: the kill lands with records in flight.
  5. The server restarts on the same --data-dir. Checks:
       - every acknowledged row is present (GetEntity by source key);
       - the present rows are a prefix of the file (the stream is applied
         in order, so a hole means a lost write);
       - Stats.records == the number of distinct keys found (no duplicate);
       - the entity partition (the set of sets of member source keys, not
         raw ids) equals the one of a fresh --in-memory server fed exactly
         the present rows in file order.

Usage (ctest runs it with --runs 20):
  crash_load.py --server BIN --datagen BIN --proto-dir DIR --health-proto FILE
                --work DIR [--runs N] [--first-seed S] [--persons P]
Ends with "N passed, N failed". Loopback only, bounded waits, every run
under an alarm.
"""
import argparse
import csv
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_rpc  # noqa: E402  (gen_stubs, Server)

ARGS = None
pb = pg = hpb = grpc = None
RUN_TIMEOUT = 60


class RunTimeout(Exception):
    pass


def csv_for(seed):
    path = os.path.join(ARGS.work, "data-%d-%d.csv" % (ARGS.persons, seed))
    if not os.path.exists(path):
        tmp = path + ".tmp"
        subprocess.check_call([ARGS.datagen, "--persons", str(ARGS.persons),
                               "--seed", str(seed), "--out", tmp], timeout=60)
        os.rename(tmp, path)
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def to_record(row):
    r = pb.Record(source=row["source"], source_id=row["source_id"],
                  given_name=row["given_name"], family_name=row["family_name"],
                  birth_date=row["birth_date"], gender=row["gender"],
                  country=row["country"])
    r.emails.extend(e for e in (row["email"], row["email2"]) if e)
    r.phones.extend(p for p in (row["phone"], row["phone2"]) if p)
    if row["address_line1"] or row["city"] or row["postcode"]:
        r.addresses.append(pb.Address(line1=row["address_line1"], city=row["city"],
                                      postcode=row["postcode"], country=row["country"]))
    if row["loyalty_id"]:
        r.identifiers.append(pb.Identifier(type="loyalty", value=row["loyalty_id"]))
    at = int(row["updated_at"]) if row["updated_at"] else 0
    r.updated_at = at
    if row["consent_email"]:
        r.consents.append(pb.Consent(channel="email",
                                     granted=row["consent_email"] == "granted", at=at))
    return r


def key(row):
    return (row["source"], row["source_id"])


def start(name, extra):
    """A test_rpc.Server (it wipes work/name, never our data dir)."""
    s = test_rpc.Server(name, extra)
    s.wait_serving(30)
    return s


def partition(srv, rows):
    """(present keys, set of frozensets of member keys) over rows' keys."""
    seen = {}
    present = set()
    for row in rows:
        k = key(row)
        if k in seen:
            present.add(k)
            continue
        try:
            g = srv.stub.GetEntity(pb.GetEntityRequest(record_key=pb.RecordKey(
                source=k[0], source_id=k[1])), timeout=10).entity
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.NOT_FOUND:
                continue
            raise
        members = frozenset((m.source, m.source_id) for m in g.members)
        if k not in members:
            raise AssertionError("GetEntity(%s) returned an entity without it" % (k,))
        for m in members:
            seen[m] = members
        present.add(k)
    return present, set(seen.values())


def stream(srv, rows, ack_every, timeout=60):
    """Streams rows; returns an iterator of responses (the call)."""
    def gen():
        for i, row in enumerate(rows, 1):
            yield pb.UpsertStreamRequest(record=to_record(row), sequence=i,
                                         ack_every=ack_every if i == 1 else 0)
    return srv.stub.UpsertStream(gen(), timeout=timeout)


def one_run(seed):
    rng = random.Random(seed)
    rows = csv_for(seed)
    n = len(rows)
    name = "crash-%d" % seed
    data = os.path.join(ARGS.work, name + "-data")
    shutil.rmtree(data, ignore_errors=True)
    extra = ["--data-dir", data, "--sync", "always"]
    if seed % 2:
        extra += ["--snapshot-every-ops", "300"]
    ack_every = rng.choice([1, 7, 25, 100])
    target = rng.randrange(0, n)            # acknowledged row to reach
    delay = rng.uniform(0, 0.008)           # then kill after this
    srv = start(name, extra)
    acked = 0
    killer = None
    completed = False
    try:
        call = stream(srv, rows, ack_every)
        try:
            for m in call:
                if m.WhichOneof("kind") == "progress":
                    acked = max(acked, m.progress.last_sequence)
                else:
                    acked = max(acked, m.summary.totals.last_sequence)
                    completed = True
                if killer is None and acked >= target:
                    killer = threading.Timer(delay, srv.proc.send_signal,
                                             [signal.SIGKILL])
                    killer.start()
        except grpc.RpcError:
            pass
        if completed and m.summary.totals.failed:
            raise AssertionError("clean rows rejected: %d" % m.summary.totals.failed)
        if completed:
            acked = n  # the summary came: every row was durable
        if killer is None:
            srv.proc.send_signal(signal.SIGKILL)
        else:
            killer.join()
    finally:
        rc = srv.stop(signal.SIGKILL)
    if rc != -signal.SIGKILL:
        raise AssertionError("server exited %s before the kill" % rc)

    again = start(name + "-r", extra)
    try:
        present, part = partition(again, rows)
        st = again.stub.Stats(pb.StatsRequest(), timeout=10)
    finally:
        rc = again.stop()
    log = open(again.log_path).read()
    rec_line = [line for line in log.splitlines() if "event=recovered" in line]
    if rc != 0:
        raise AssertionError("restarted server exited %d" % rc)
    lost = [i for i in range(1, acked + 1) if key(rows[i - 1]) not in present]
    if lost:
        raise AssertionError("%d acknowledged rows lost, first row %d (acked %d)"
                             % (len(lost), lost[0], acked))
    k = len(present)
    holes = [i for i in range(1, k + 1) if key(rows[i - 1]) not in present]
    if holes:
        raise AssertionError("present rows are not a prefix: row %d missing, %d present"
                             % (holes[0], k))
    if st.records != k:
        raise AssertionError("Stats.records %d != %d distinct keys present" % (st.records, k))

    clean = start(name + "-clean", ["--in-memory", "1"])
    try:
        if k:
            msgs = list(stream(clean, rows[:k], 1000))
            if msgs[-1].summary.totals.accepted != k:
                raise AssertionError("clean run accepted %d of %d"
                                     % (msgs[-1].summary.totals.accepted, k))
        cpresent, cpart = partition(clean, rows)
    finally:
        clean.stop()
    if cpresent != present:
        raise AssertionError("clean run holds other keys")
    if cpart != part:
        diff = len(part ^ cpart)
        raise AssertionError("entity partition differs from a clean run (%d entities "
                             "differ of %d)" % (diff, len(part)))
    shutil.rmtree(data, ignore_errors=True)
    return ("seed=%d rows=%d ack_every=%d target=%d acked=%d present=%d entities=%d "
            "snapshots=%s %s" % (seed, n, ack_every, target, acked, k, len(part),
                                 "on" if seed % 2 else "off",
                                 rec_line[0].split("event=recovered ")[1] if rec_line else ""))


def main():
    global ARGS, pb, pg, hpb, grpc
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--datagen", required=True)
    ap.add_argument("--proto-dir", required=True)
    ap.add_argument("--health-proto", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--persons", type=int, default=1200)
    ARGS = ap.parse_args()
    os.makedirs(ARGS.work, exist_ok=True)
    import grpc as grpc_mod
    grpc = grpc_mod
    test_rpc.gen_stubs(ARGS.work, ARGS.proto_dir, ARGS.health_proto)
    from reconnu.v1 import reconnu_pb2, reconnu_pb2_grpc
    from health_v1 import health_pb2, health_pb2_grpc
    pb, pg, hpb = reconnu_pb2, reconnu_pb2_grpc, health_pb2
    test_rpc.grpc, test_rpc.pb, test_rpc.pg = grpc, pb, pg
    test_rpc.hpb, test_rpc.hpg = health_pb2, health_pb2_grpc
    test_rpc.ARGS = argparse.Namespace(server=ARGS.server, work=ARGS.work)

    def on_alarm(signum, frame):
        raise RunTimeout("run took longer than %ds" % RUN_TIMEOUT)
    signal.signal(signal.SIGALRM, on_alarm)
    passed = failed = 0
    t0 = time.time()
    for seed in range(ARGS.first_seed, ARGS.first_seed + ARGS.runs):
        signal.alarm(RUN_TIMEOUT)
        try:
            print("ok   " + one_run(seed), flush=True)
            passed += 1
        except Exception as e:  # noqa: BLE001 - report and go on
            print("FAIL seed=%d: %s: %s" % (seed, type(e).__name__, e), flush=True)
            failed += 1
        finally:
            signal.alarm(0)
    print("%.1f s" % (time.time() - t0))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
