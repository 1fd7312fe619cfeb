#!/usr/bin/env python3
"""Match quality over the wire equals match quality in process.

Loads FEBRL3 into a real reconnu-server with `reconnu load` (UpsertStream),
reads every record's entity back with GetEntity over gRPC, computes the
pairwise confusion counts against the FEBRL truth (rec-<N>-org/dup-<k>),
and checks they equal what `reconnu-eval --preset febrl3` computes in
process on the same data with the same mapping and nicknames.

Exit 77 (ctest: skipped) when the labelled data folder is absent. Ends with
the plain "N passed, N failed" line.
"""
import argparse
import collections
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_rpc import gen_stubs  # noqa: E402

# Same mapping as the febrl presets of reconnu-eval (tools/eval/preset.c).
FEBRL_MAP = ("given_name=given_name,family_name=surname,"
             "address_line1=street_number+address_1,address_line2=address_2,"
             "city=suburb,postcode=postcode,region=state,"
             "birth_date=date_of_birth,identifier:ssn=soc_sec_id,country='AU'")


def pair_counts(pred, truth):
    """TP, FP, FN over unordered record pairs, by contingency counts."""
    def c2(n):
        return n * (n - 1) // 2
    cells = collections.Counter(zip(pred, truth))
    tp = sum(c2(n) for n in cells.values())
    predicted = sum(c2(n) for n in collections.Counter(pred).values())
    true = sum(c2(n) for n in collections.Counter(truth).values())
    return tp, predicted - tp, true - tp


def main():
    ap = argparse.ArgumentParser()
    for opt in ("--server", "--cli", "--eval", "--proto-dir", "--health-proto",
                "--data-root", "--work"):
        ap.add_argument(opt, required=True)
    a = ap.parse_args()
    data = os.path.join(a.data_root, "febrl", "dataset3.csv")
    if not os.path.exists(data):
        print("# skipped: %s not found" % data)
        print("0 passed, 0 failed")
        return 77
    os.makedirs(a.work, exist_ok=True)
    gen_stubs(a.work, a.proto_dir, a.health_proto)
    import grpc
    from reconnu.v1 import reconnu_pb2 as pb
    from reconnu.v1 import reconnu_pb2_grpc as pbg

    passed = failed = 0

    def check(cond, msg):
        nonlocal passed, failed
        print(("ok - " if cond else "not ok - ") + msg)
        if cond:
            passed += 1
        else:
            failed += 1

    nick = os.path.join(a.data_root, "name_variants")
    port_file = os.path.join(a.work, "port")
    if os.path.exists(port_file):
        os.remove(port_file)
    srv = subprocess.Popen([a.server, "--listen", "127.0.0.1:0", "--port-file",
                            port_file, "--in-memory", "1", "--nicknames", nick],
                           stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            time.sleep(0.1)
        addr = "127.0.0.1:" + open(port_file).read().strip()
        load = subprocess.run([a.cli, "--server", addr, "--json", "load", data,
                               "--map", FEBRL_MAP, "--id", "rec_id",
                               "--source", "febrl"],
                              capture_output=True, text=True, timeout=300)
        check(load.returncode in (0, 3), "reconnu load ran (exit %d)" % load.returncode)

        keys = []
        with open(data, newline="") as f:
            next(f)
            for line in f:
                rid = line.split(",")[0].strip()
                if rid:
                    keys.append(rid)
        stub = pbg.ReconnuStub(grpc.insecure_channel(addr))
        pred, truth = [], []
        for i, rid in enumerate(keys):
            req = pb.GetEntityRequest(record_key=pb.RecordKey(source="febrl",
                                                              source_id=rid))
            try:
                ent = stub.GetEntity(req, timeout=10).entity.entity_id
            except grpc.RpcError:
                ent = "missing-%d" % i  # a rejected row is its own cluster
            pred.append(ent)
            truth.append(re.match(r"rec-(\d+)-", rid).group(1))
        tp, fp, fn = pair_counts(pred, truth)
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        print("# over RPC: TP %d FP %d FN %d P %.4f R %.4f F1 %.4f" % (tp, fp, fn, p, r, f1))

        ev = subprocess.run([a.eval, "--preset", "febrl3", "--data-root",
                             a.data_root, "--json"], capture_output=True,
                            text=True, timeout=300)
        j = json.loads(ev.stdout)
        flat = dict(j)
        for v in j.values():
            if isinstance(v, dict):
                flat.update(v)
        print("# in process: TP %s FP %s FN %s F1 %s" % (
            flat.get("tp"), flat.get("fp"), flat.get("fn"), flat.get("f1")))
        check((flat.get("tp"), flat.get("fp"), flat.get("fn")) == (tp, fp, fn),
              "same pair counts over RPC as in process")
        check(abs(float(flat.get("f1", -1)) - f1) < 1e-6,  # JSON has 6 decimals
              "same F1 over RPC (%.4f) as in process" % f1)
    finally:
        srv.terminate()
        try:
            srv.wait(timeout=30)
        except subprocess.TimeoutExpired:
            srv.kill()
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
