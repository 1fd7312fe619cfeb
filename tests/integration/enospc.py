#!/usr/bin/env python3
"""Real ENOSPC on a small tmpfs data dir: the server fail-stops, and every
acknowledged write comes back after the data is moved to a bigger disk.

  1. mount -t tmpfs -o size=512k (exit 77 = skipped when mount is refused,
     e.g. without root or in a container without CAP_SYS_ADMIN);
  2. reconnu-server --sync always on it; unary Upserts of ~2 KB records one
     at a time until one fails (bounded: 5000 attempts);
  3. checks: the failure is UNAVAILABLE; no write after it is OK; Health is
     NOT_SERVING (or the server already stopped); the process exits 1 with an
     `event=storage_failed` log line;
  4. the data dir is copied to the work dir (a real disk), the tmpfs
     unmounted, the server restarted on the copy: every acknowledged record
     is there (GetEntity by key) and Stats.records is between the
     acknowledged and the attempted count;
  5. the same with UpsertStream (ack after every record) on a fresh tmpfs:
     the stream ends UNAVAILABLE, no ack counts a failed record, exit 1,
     every acknowledged sequence recovered.

Usage: enospc.py --server BIN --proto-dir DIR --health-proto FILE --work DIR
Ends with "N passed, N failed". Loopback only, bounded loops, under an alarm.
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_rpc  # noqa: E402  (gen_stubs, Server)

SKIP = 77


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--proto-dir", required=True)
    ap.add_argument("--health-proto", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    mnt = os.path.join(args.work, "tmpfs")
    if os.path.ismount(mnt):
        subprocess.call(["umount", mnt])
    shutil.rmtree(mnt, ignore_errors=True)
    os.makedirs(mnt)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", mnt],
                       capture_output=True, text=True)
    if p.returncode != 0:
        print("SKIP: cannot mount a tmpfs (%s)" % (p.stderr.strip() or p.returncode))
        sys.exit(SKIP)

    import grpc
    test_rpc.gen_stubs(args.work, args.proto_dir, args.health_proto)
    from reconnu.v1 import reconnu_pb2 as pb, reconnu_pb2_grpc as pg
    from health_v1 import health_pb2 as hpb, health_pb2_grpc as hpg
    test_rpc.grpc, test_rpc.pb, test_rpc.pg = grpc, pb, pg
    test_rpc.hpb, test_rpc.hpg = hpb, hpg
    test_rpc.ARGS = argparse.Namespace(server=args.server, work=args.work)

    def on_alarm(signum, frame):
        raise TimeoutError("enospc test took longer than 120 s")
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(120)

    results = []

    def check(name, ok, detail=""):
        results.append(ok)
        print("%s - %s%s" % ("ok" if ok else "FAIL", name, (": " + detail) if detail else ""),
              flush=True)

    data = os.path.join(mnt, "data")
    acked = []
    attempted = 0
    try:
        srv = test_rpc.Server("enospc", ["--data-dir", data, "--sync", "always",
                                         "--snapshot-every-ops", "0"])
        srv.wait_serving()
        pad = "x" * 900
        first_err = None
        ok_after = 0
        health_after = None
        for i in range(5000):
            r = pb.Record(source="enospc", source_id=str(i), given_name="G%d" % i,
                          family_name="Full", attributes={"pad1": pad, "pad2": pad})
            attempted += 1
            try:
                srv.stub.Upsert(pb.UpsertRequest(record=r), timeout=10)
                if first_err is None:
                    acked.append(str(i))
                else:
                    ok_after += 1
            except grpc.RpcError as e:
                if first_err is None:
                    first_err = e
                    try:
                        health_after = srv.health.Check(hpb.HealthCheckRequest(),
                                                        timeout=2).status
                    except grpc.RpcError as he:
                        health_after = he.code()
                if srv.proc.poll() is not None or attempted > len(acked) + 50:
                    break
        check("writes acknowledged, then failed once the disk was full",
              first_err is not None and len(acked) > 0,
              "%d acknowledged" % len(acked))
        if first_err is None:
            srv.stop()
            return
        check("the failure is UNAVAILABLE", first_err.code() == grpc.StatusCode.UNAVAILABLE,
              "%s %s" % (first_err.code(), first_err.details()))
        check("no write acknowledged after the failure", ok_after == 0, str(ok_after))
        check("Health NOT_SERVING (or already stopped) after the failure",
              health_after in (hpb.HealthCheckResponse.NOT_SERVING,
                               grpc.StatusCode.UNAVAILABLE), str(health_after))
        try:
            rc = srv.proc.wait(20)
        except subprocess.TimeoutExpired:
            rc = None
        srv.stop()
        log = open(srv.log_path).read()
        check("the server exits 1 on its own", rc == 1, str(rc))
        check("a clear log line", "event=storage_failed" in log,
              [ln for ln in log.splitlines() if "level=error" in ln][:3].__repr__())

        copy = os.path.join(args.work, "enospc-copy")
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(data, copy)
    finally:
        subprocess.call(["umount", mnt])
    again = test_rpc.Server("enospc-2", ["--data-dir", copy])
    try:
        again.wait_serving()
        missing = 0
        for sid in acked:
            try:
                again.stub.GetEntity(pb.GetEntityRequest(record_key=pb.RecordKey(
                    source="enospc", source_id=sid)), timeout=5)
            except grpc.RpcError:
                missing += 1
        check("every acknowledged record recovered", missing == 0,
              "%d of %d missing" % (missing, len(acked)))
        n = again.stub.Stats(pb.StatsRequest(), timeout=5).records
        check("Stats.records between acknowledged and attempted",
              len(acked) <= n <= attempted, "%d <= %d <= %d" % (len(acked), n, attempted))
    finally:
        rc = again.stop()
    check("the restarted server stops cleanly", rc == 0, str(rc))
    rec_line = [ln for ln in open(again.log_path).read().splitlines() if "event=recovered" in ln]
    print(rec_line[0] if rec_line else "no recovered line")

    # The same over UpsertStream (ack after every record): the stream ends
    # UNAVAILABLE at the failure and no ack counts a record past it.
    shutil.rmtree(mnt, ignore_errors=True)
    os.makedirs(mnt)
    if subprocess.call(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", mnt]) != 0:
        check("remount the tmpfs for the stream phase", False)
    else:
        copy = os.path.join(args.work, "enospc-stream-copy")
        try:
            srv = test_rpc.Server("enospc-stream", ["--data-dir", data, "--sync", "always",
                                                    "--snapshot-every-ops", "0"])
            srv.wait_serving()

            def gen():
                for i in range(1, 5001):
                    yield pb.UpsertStreamRequest(sequence=i, ack_every=1, record=pb.Record(
                        source="enospc-s", source_id=str(i), given_name="S%d" % i,
                        attributes={"pad1": pad, "pad2": pad}))
            acked_seq = 0
            end = None
            try:
                for m in srv.stub.UpsertStream(gen(), timeout=60):
                    if m.WhichOneof("kind") == "progress":
                        if m.progress.failed:
                            end = "ack counting a failed record"
                            break
                        acked_seq = max(acked_seq, m.progress.last_sequence)
                    else:
                        end = "summary (the stream completed)"
            except grpc.RpcError as e:
                end = e.code()
            check("the stream ends UNAVAILABLE at the failure, acks before it",
                  end == grpc.StatusCode.UNAVAILABLE and acked_seq > 0,
                  "%s after %d acked" % (end, acked_seq))
            try:
                rc = srv.proc.wait(20)
            except subprocess.TimeoutExpired:
                rc = None
            srv.stop()
            check("the server exits 1 after the stream failure", rc == 1, str(rc))
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(data, copy)
        finally:
            subprocess.call(["umount", mnt])
        again = test_rpc.Server("enospc-stream-2", ["--data-dir", copy])
        try:
            again.wait_serving()
            missing = 0
            for i in range(1, acked_seq + 1):
                try:
                    again.stub.GetEntity(pb.GetEntityRequest(record_key=pb.RecordKey(
                        source="enospc-s", source_id=str(i))), timeout=5)
                except grpc.RpcError:
                    missing += 1
            n = again.stub.Stats(pb.StatsRequest(), timeout=5).records
            check("every acknowledged stream record recovered",
                  missing == 0 and n >= acked_seq,
                  "%d of %d missing, %d records" % (missing, acked_seq, n))
        finally:
            check("the restarted server stops cleanly (stream phase)", again.stop() == 0)
    signal.alarm(0)
    failed = results.count(False)
    print("%d passed, %d failed" % (len(results) - failed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
