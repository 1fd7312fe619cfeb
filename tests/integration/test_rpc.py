#!/usr/bin/env python3
"""Integration tests of reconnu-server over real gRPC clients.

Starts the real server on a loopback port (port 0, read back from
--port-file), drives it with Python grpcio (stubs generated at test time
from proto/reconnu/v1/reconnu.proto and the health proto) and with the
`reconnu` CLI. Covers every RPC, bad inputs (each gets the right status and
leaves Stats unchanged), 16 concurrent clients, a client cancelling
mid-stream, a 1 ms deadline, UNAVAILABLE/NOT_SERVING while preloading, and
SIGTERM under load (exit 0).

Usage (ctest runs it):
  test_rpc.py --server BIN --cli BIN --proto-dir DIR --health-proto FILE
              --work DIR
Ends with a plain "N passed, N failed" line. Loopback only, bounded loops,
every test under an alarm.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import unittest

ARGS = None
pb = pg = hpb = hpg = grpc = None
SERVER = None  # the shared server of most tests
TEST_TIMEOUT = 60


def gen_stubs(work, proto_dir, health_proto):
    """protoc --python_out + grpc_python_plugin (or grpc_tools) into work/py.

    The health proto is copied under another folder name because its
    package path `grpc/...` would shadow the grpc library module.
    """
    out = os.path.join(work, "py")
    src = os.path.join(work, "protosrc")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(os.path.join(src, "health_v1"), exist_ok=True)
    os.makedirs(out)
    shutil.copy(health_proto, os.path.join(src, "health_v1", "health.proto"))
    protos = ["reconnu/v1/reconnu.proto"]
    try:
        import grpc_tools.protoc as gt  # noqa: F401
        cmd = [sys.executable, "-m", "grpc_tools.protoc"]
        plugin = []
    except ImportError:
        cmd = ["protoc"]
        plugin = ["--plugin=protoc-gen-grpc=" + shutil.which("grpc_python_plugin")]
    subprocess.check_call(cmd + plugin + ["-I" + proto_dir, "--python_out=" + out,
                                          "--grpc_out=" + out] + protos)
    subprocess.check_call(cmd + plugin + ["-I" + src, "--python_out=" + out,
                                          "--grpc_out=" + out,
                                          "health_v1/health.proto"])
    sys.path.insert(0, out)


class Server:
    """A reconnu-server process on 127.0.0.1:<any port>."""

    def __init__(self, name, extra=()):
        d = os.path.join(ARGS.work, name)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        self.port_file = os.path.join(d, "port")
        self.log_path = os.path.join(d, "server.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [ARGS.server, "--listen", "127.0.0.1:0", "--port-file",
             self.port_file, "--data-dir", os.path.join(d, "data"),
             "--threads", "2", "--max-message-bytes", str(1 << 20),
             "--grace-ms", "5000"] + list(extra),
            stdout=self.log, stderr=self.log)
        deadline = time.time() + 20
        while time.time() < deadline:
            if os.path.exists(self.port_file):
                txt = open(self.port_file).read().strip()
                if txt:
                    self.port = int(txt)
                    break
            if self.proc.poll() is not None:
                raise RuntimeError("server exited: " + open(self.log_path).read())
            time.sleep(0.02)
        else:
            raise RuntimeError("server did not bind")
        self.addr = "127.0.0.1:%d" % self.port
        self.channel = grpc.insecure_channel(self.addr)
        self.stub = pg.ReconnuStub(self.channel)
        self.health = hpg.HealthStub(self.channel)

    def wait_serving(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                r = self.health.Check(hpb.HealthCheckRequest(), timeout=2)
                if r.status == hpb.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.05)
        raise RuntimeError("server not serving")

    def stop(self, sig=signal.SIGTERM, timeout=30):
        self.channel.close()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait(5)
        self.log.close()
        return rc

    def raw(self, method):
        return self.channel.unary_unary(
            "/reconnu.v1.Reconnu/" + method,
            request_serializer=lambda b: b,
            response_deserializer=lambda b: b)


def rec(source="it", sid="1", **kw):
    return pb.Record(source=source, source_id=sid, **kw)


def stats_key(s):
    return (s.records, s.entities, s.upserts, s.deletes, s.edges, s.aliases)


def code_of(fn):
    try:
        fn()
        return grpc.StatusCode.OK
    except grpc.RpcError as e:
        return e.code()


def ld(data):
    """protobuf length-delimited field body."""
    n = len(data)
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            out += bytes([b])
            return out + data


class Timeout(Exception):
    pass


class Base(unittest.TestCase):
    def setUp(self):
        def on_alarm(signum, frame):
            raise Timeout("test took longer than %ds" % TEST_TIMEOUT)
        signal.signal(signal.SIGALRM, on_alarm)
        signal.alarm(TEST_TIMEOUT)

    def tearDown(self):
        signal.alarm(0)

    def cli_at(self, srv, *args):
        p = subprocess.run([ARGS.cli, "--server", srv.addr] + list(args),
                           capture_output=True, text=True, timeout=60)
        return p.returncode, p.stdout, p.stderr

    def cli(self, *args, input_file=None):
        p = subprocess.run([ARGS.cli, "--server", SERVER.addr] + list(args),
                           capture_output=True, text=True, timeout=60)
        return p.returncode, p.stdout, p.stderr


class TestRpcs(Base):
    def test_health(self):
        r = SERVER.health.Check(hpb.HealthCheckRequest(), timeout=5)
        self.assertEqual(r.status, hpb.HealthCheckResponse.SERVING)
        r = SERVER.health.Check(hpb.HealthCheckRequest(service="reconnu.v1.Reconnu"), timeout=5)
        self.assertEqual(r.status, hpb.HealthCheckResponse.SERVING)
        self.assertEqual(code_of(lambda: SERVER.health.Check(
            hpb.HealthCheckRequest(service="nope"), timeout=5)), grpc.StatusCode.NOT_FOUND)

    def test_every_connection_is_served(self):
        # each new connection is handed to one of the server's polling
        # queues in turn: a queue nobody polls would leave every third
        # one unanswered (the server's default poller polls per queue)
        for i in range(8):
            ch = grpc.insecure_channel(SERVER.addr, options=[
                ("grpc.use_local_subchannel_pool", 1)])
            try:
                h = hpg.HealthStub(ch)
                r = h.Check(hpb.HealthCheckRequest(), timeout=5)
                self.assertEqual(r.status, hpb.HealthCheckResponse.SERVING,
                                 "connection %d" % i)
            finally:
                ch.close()

    def test_unknown_method(self):
        watch = SERVER.channel.unary_stream(
            "/grpc.health.v1.Health/Watch",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=hpb.HealthCheckResponse.FromString)
        self.assertEqual(code_of(lambda: list(watch(hpb.HealthCheckRequest(), timeout=5))),
                         grpc.StatusCode.UNIMPLEMENTED)

    def test_upsert_identify_get_explain_delete(self):
        s = SERVER.stub
        a = rec("rpc-a", "1", given_name="Héloïse", family_name="Dupont",
                birth_date="1984-03-12", emails=["heloise.dupont@example.fr"],
                phones=["06 12 34 56 78"], country="FR",
                addresses=[pb.Address(line1="12 rue de Rivoli", city="Paris",
                                      postcode="75001", country="FR")],
                identifiers=[pb.Identifier(type="loyalty", value="L-1")],
                consents=[pb.Consent(channel="email", granted=True, at=1000)],
                attributes={"tier": "gold"}, updated_at=1000)
        r1 = s.Upsert(pb.UpsertRequest(record=a), timeout=5)
        self.assertTrue(r1.created)
        self.assertGreater(r1.entity_id, 0)
        b = rec("rpc-b", "9", given_name="HELOISE", family_name="DUPONT",
                birth_date="1984-03-12", emails=["Heloise.Dupont@example.fr"])
        r2 = s.Upsert(pb.UpsertRequest(record=b), timeout=5)
        self.assertEqual(r2.entity_id, r1.entity_id)
        self.assertEqual(r2.decision, pb.DECISION_MATCH)
        # Identify is read-only.
        before = stats_key(s.Stats(pb.StatsRequest(), timeout=5))
        m = s.Identify(pb.IdentifyRequest(record=pb.Record(
            given_name="heloise", family_name="dupont", birth_date="1984-03-12"),
            max_candidates=3), timeout=5)
        self.assertEqual(m.entity_id, r1.entity_id)
        self.assertEqual(m.decision, pb.DECISION_MATCH)
        self.assertGreater(len(m.explanation.features), 0)
        self.assertLessEqual(len(m.candidates), 3)
        self.assertEqual(m.golden.entity_id, r1.entity_id)
        self.assertEqual(before, stats_key(s.Stats(pb.StatsRequest(), timeout=5)))
        # GetEntity by id and by key.
        g = s.GetEntity(pb.GetEntityRequest(entity_id=r1.entity_id), timeout=5).entity
        self.assertEqual(len(g.members), 2)
        self.assertEqual(g.attributes[0].key, "tier")
        self.assertEqual(g.consents[0].channel, "email")
        g2 = s.GetEntity(pb.GetEntityRequest(record_key=pb.RecordKey(
            source="rpc-b", source_id="9")), timeout=5).entity
        self.assertEqual(g2.entity_id, r1.entity_id)
        # Explain: two records, and a record against an entity.
        e = s.Explain(pb.ExplainRequest(left=a, right_record=b), timeout=5).explanation
        self.assertGreater(e.probability, 0.9)
        self.assertIn("given_name", [f.attribute for f in e.features])
        e2 = s.Explain(pb.ExplainRequest(left=b, entity_id=r1.entity_id), timeout=5)
        self.assertGreater(e2.explanation.probability, 0.9)
        # Delete.
        d = s.Delete(pb.DeleteRequest(key=pb.RecordKey(source="rpc-b", source_id="9")), timeout=5)
        self.assertEqual(d.entity_id, r1.entity_id)
        self.assertEqual(code_of(lambda: s.Delete(pb.DeleteRequest(
            key=pb.RecordKey(source="rpc-b", source_id="9")), timeout=5)),
            grpc.StatusCode.NOT_FOUND)

    def test_stats(self):
        st = SERVER.stub.Stats(pb.StatsRequest(), timeout=5)
        self.assertEqual(st.threads, 2)
        self.assertGreater(st.uptime_ms, 0)

    def test_upsert_stream_with_failures(self):
        def gen():
            for i in range(2500):
                yield pb.UpsertStreamRequest(
                    record=rec("stream", str(i), given_name="N%d" % i,
                               family_name="Streamer", birth_date="1970"),
                    sequence=100 + i, ack_every=500 if i == 0 else 0)
            yield pb.UpsertStreamRequest(record=rec("stream", ""), sequence=9000)
            yield pb.UpsertStreamRequest(sequence=9001)  # no record
        msgs = list(SERVER.stub.UpsertStream(gen(), timeout=60))
        acks = [m.progress for m in msgs if m.HasField("progress")]
        sums = [m.summary for m in msgs if m.HasField("summary")]
        self.assertEqual(len(sums), 1)
        self.assertGreaterEqual(len(acks), 1)
        for a in acks:
            self.assertEqual(a.received % 500, 0)
            self.assertEqual(a.last_sequence, 99 + a.received)
        t = sums[0].totals
        self.assertEqual((t.received, t.accepted, t.failed), (2502, 2500, 2))
        self.assertEqual(t.last_sequence, 9001)
        f = sums[0].failures
        self.assertEqual([(x.index, x.sequence, x.code) for x in f],
                         [(2500, 9000, 3), (2501, 9001, 3)])
        self.assertIn("source_id", f[0].message)


    def test_upsert_stream_batched_failures_keep_order(self):
        # The server applies a stream's records in batches: a record the
        # engine refuses inside a batch and an undecodable message right
        # after it are still reported in stream order, and every ack
        # counts exactly the records before it.
        def gen():
            for i in range(40):
                if i == 5:
                    yield pb.UpsertStreamRequest(record=rec(
                        "batched", "5", birth_date="1980-13-45x"))
                elif i == 6:
                    yield pb.UpsertStreamRequest()  # no record
                else:
                    yield pb.UpsertStreamRequest(
                        record=rec("batched", str(i), given_name="B%d" % i,
                                   family_name="Batch", birth_date="1971"),
                        ack_every=10 if i == 0 else 0)
        msgs = list(SERVER.stub.UpsertStream(gen(), timeout=60))
        acks = [m.progress for m in msgs if m.HasField("progress")]
        sums = [m.summary for m in msgs if m.HasField("summary")]
        self.assertEqual(len(sums), 1)
        for a in acks:
            self.assertEqual(a.received % 10, 0)
            self.assertEqual((a.accepted, a.failed), (a.received - 2, 2))
        t = sums[0].totals
        self.assertEqual((t.received, t.accepted, t.failed), (40, 38, 2))
        f = sums[0].failures
        self.assertEqual([(x.index, x.sequence, x.code, x.source_id)
                          for x in f], [(5, 6, 3, "5"), (6, 7, 3, "")])
        self.assertIn("birth_date", f[0].message)
        got = SERVER.stub.GetEntity(pb.GetEntityRequest(
            record_key=pb.RecordKey(source="batched", source_id="39")),
            timeout=5)
        self.assertGreater(got.entity.entity_id, 0)

    def test_upsert_stream_acks_in_order_while_syncing(self):
        # The worker goes on applying while earlier batches are syncing,
        # so many batches are in flight: every ack_every boundary is still
        # acknowledged exactly once, in stream order, counting exactly the
        # records before it (refused ones included), and the summary comes
        # after the last ack.
        bad = {17, 18, 250}
        n = 400

        def gen():
            for i in range(n):
                if i in bad:
                    yield pb.UpsertStreamRequest(record=rec(
                        "inflight", str(i), birth_date="1980-13-45x"),
                        sequence=1000 + i)
                else:
                    yield pb.UpsertStreamRequest(
                        record=rec("inflight", str(i), given_name="F%d" % i,
                                   family_name="Flight", birth_date="1972"),
                        sequence=1000 + i, ack_every=1 if i == 0 else 0)
        msgs = list(SERVER.stub.UpsertStream(gen(), timeout=60))
        self.assertTrue(msgs[-1].HasField("summary"))
        acks = [m.progress for m in msgs[:-1]]
        self.assertTrue(all(m.HasField("progress") for m in msgs[:-1]))
        self.assertEqual([a.received for a in acks], list(range(1, n + 1)))
        for a in acks:
            refused = len([i for i in bad if i < a.received])
            self.assertEqual((a.accepted, a.failed),
                             (a.received - refused, refused))
            self.assertEqual(a.last_sequence, 999 + a.received)
        t = msgs[-1].summary.totals
        self.assertEqual((t.received, t.accepted, t.failed),
                         (n, n - len(bad), len(bad)))
        self.assertEqual([x.index for x in msgs[-1].summary.failures],
                         sorted(bad))
        for i in (0, 16, 19, 249, 251, n - 1):
            got = SERVER.stub.GetEntity(pb.GetEntityRequest(
                record_key=pb.RecordKey(source="inflight",
                                        source_id=str(i))), timeout=5)
            self.assertGreater(got.entity.entity_id, 0)


class TestBadInput(Base):
    """Each bad request gets its status and changes nothing."""

    def check(self, fn, code, detail=None):
        s = SERVER.stub
        before = stats_key(s.Stats(pb.StatsRequest(), timeout=5))
        try:
            fn()
            self.fail("expected %s" % code)
        except grpc.RpcError as e:
            self.assertEqual(e.code(), code, e.details())
            if detail:
                self.assertIn(detail, e.details())
        self.assertEqual(before, stats_key(s.Stats(pb.StatsRequest(), timeout=5)))

    def test_invalid_utf8_raw_bytes(self):
        record = (b"\x0a" + ld(b"bad") + b"\x12" + ld(b"1") +
                  b"\x1a" + ld(b"Ren\xc3\x28e"))
        self.check(lambda: SERVER.raw("Upsert")(b"\x0a" + ld(record), timeout=5),
                   grpc.StatusCode.INVALID_ARGUMENT, "given_name")
        addr = b"\x1a" + ld(b"Par\xffis")
        record = b"\x0a" + ld(b"bad") + b"\x12" + ld(b"1") + b"\x5a" + ld(addr)
        self.check(lambda: SERVER.raw("Upsert")(b"\x0a" + ld(record), timeout=5),
                   grpc.StatusCode.INVALID_ARGUMENT, "addresses.city")
        self.check(lambda: SERVER.raw("Identify")(b"\x0a" + ld(b"\x4a" + ld(b"\xed\xa0\x80")),
                                                  timeout=5),
                   grpc.StatusCode.INVALID_ARGUMENT, "emails")

    def test_nul_in_name(self):
        self.check(lambda: SERVER.stub.Upsert(pb.UpsertRequest(
            record=rec("bad", "2", given_name="Jo\x00hn")), timeout=5),
            grpc.StatusCode.INVALID_ARGUMENT, "given_name")

    def test_oversize_message(self):
        self.check(lambda: SERVER.stub.Upsert(pb.UpsertRequest(
            record=rec("bad", "3", given_name="x" * (2 << 20))), timeout=10),
            grpc.StatusCode.RESOURCE_EXHAUSTED)

    def test_over_limits(self):
        self.check(lambda: SERVER.stub.Upsert(pb.UpsertRequest(
            record=rec("bad", "4", emails=["a%d@x.com" % i for i in range(65)])), timeout=5),
            grpc.StatusCode.INVALID_ARGUMENT, "emails")
        self.check(lambda: SERVER.stub.Upsert(pb.UpsertRequest(
            record=rec("bad", "5", given_name="y" * 5000)), timeout=5),
            grpc.StatusCode.INVALID_ARGUMENT)

    def test_missing_key(self):
        self.check(lambda: SERVER.stub.Upsert(pb.UpsertRequest(
            record=pb.Record(source="bad", given_name="Anne")), timeout=5),
            grpc.StatusCode.INVALID_ARGUMENT, "source_id")
        self.check(lambda: SERVER.stub.Upsert(pb.UpsertRequest(), timeout=5),
                   grpc.StatusCode.INVALID_ARGUMENT, "record")
        self.check(lambda: SERVER.stub.Delete(pb.DeleteRequest(), timeout=5),
                   grpc.StatusCode.INVALID_ARGUMENT, "key")
        self.check(lambda: SERVER.stub.GetEntity(pb.GetEntityRequest(), timeout=5),
                   grpc.StatusCode.INVALID_ARGUMENT)
        self.check(lambda: SERVER.stub.Explain(pb.ExplainRequest(
            left=pb.Record(given_name="a")), timeout=5),
            grpc.StatusCode.INVALID_ARGUMENT)

    def test_unknown_entity(self):
        self.check(lambda: SERVER.stub.GetEntity(pb.GetEntityRequest(
            entity_id=987654321), timeout=5), grpc.StatusCode.NOT_FOUND)
        self.check(lambda: SERVER.stub.GetEntity(pb.GetEntityRequest(
            record_key=pb.RecordKey(source="nope", source_id="nope")), timeout=5),
            grpc.StatusCode.NOT_FOUND)
        self.check(lambda: SERVER.stub.Explain(pb.ExplainRequest(
            left=pb.Record(given_name="a"), entity_id=987654321), timeout=5),
            grpc.StatusCode.NOT_FOUND)

    def test_wrong_type_of_id(self):
        # entity_id (field 1, uint64) sent as a string.
        self.check(lambda: SERVER.raw("GetEntity")(b"\x0a" + ld(b"12"), timeout=5),
                   grpc.StatusCode.INVALID_ARGUMENT, "entity_id")
        self.check(lambda: SERVER.stub.GetEntity(pb.GetEntityRequest(entity_id=0), timeout=5),
                   grpc.StatusCode.INVALID_ARGUMENT, "entity_id")
        # garbage that is not a protobuf message at all
        self.check(lambda: SERVER.raw("Upsert")(b"\xff\xff\xff", timeout=5),
                   grpc.StatusCode.INVALID_ARGUMENT)


class TestConcurrency(Base):
    def test_16_concurrent_clients(self):
        errors = []
        before = SERVER.stub.Stats(pb.StatsRequest(), timeout=5).records

        def client(k):
            try:
                ch = grpc.insecure_channel(SERVER.addr)
                st = pg.ReconnuStub(ch)
                for i in range(20):
                    st.Upsert(pb.UpsertRequest(record=rec(
                        "conc%d" % k, str(i), given_name="Client%d" % k,
                        family_name="Number%d" % i, birth_date="1990-01-%02d" % (i + 1))),
                        timeout=10)
                    st.Identify(pb.IdentifyRequest(record=pb.Record(
                        given_name="Client%d" % k, family_name="Number%d" % i)), timeout=10)
                ch.close()
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))
        ts = [threading.Thread(target=client, args=(k,)) for k in range(16)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(50)
        self.assertEqual(errors, [])
        after = SERVER.stub.Stats(pb.StatsRequest(), timeout=5).records
        self.assertEqual(after - before, 16 * 20)

    def test_cancel_mid_stream(self):
        gate = threading.Event()

        def gen():
            for i in range(300):
                yield pb.UpsertStreamRequest(record=rec("cancel", str(i), given_name="C"),
                                             ack_every=100 if i == 0 else 0)
            gate.wait(20)  # hold the stream open until cancelled

        call = SERVER.stub.UpsertStream(gen(), timeout=30)
        got = None
        for m in call:
            if m.HasField("progress") and m.progress.received >= 300:
                got = m.progress
                break
        self.assertIsNotNone(got)
        call.cancel()
        gate.set()
        self.assertEqual(code_of(lambda: list(call)), grpc.StatusCode.CANCELLED)
        # The server goes on serving and kept the acknowledged records.
        SERVER.wait_serving(10)
        k = SERVER.stub.GetEntity(pb.GetEntityRequest(record_key=pb.RecordKey(
            source="cancel", source_id="299")), timeout=5)
        self.assertGreater(k.entity.entity_id, 0)
        msgs = list(SERVER.stub.UpsertStream(iter([pb.UpsertStreamRequest(
            record=rec("cancel", "x", given_name="D"))]), timeout=10))
        self.assertEqual(msgs[-1].summary.totals.accepted, 1)

    def test_1ms_deadline(self):
        # A unary call may finish within 1 ms on loopback: OK or
        # DEADLINE_EXCEEDED, nothing else. A stream of 5000 records cannot.
        for i in range(20):
            code = code_of(lambda: SERVER.stub.Identify(pb.IdentifyRequest(
                record=pb.Record(given_name="Deadline", family_name="Test")), timeout=0.001))
            self.assertIn(code, {grpc.StatusCode.OK, grpc.StatusCode.DEADLINE_EXCEEDED})

        def gen():
            for i in range(5000):
                yield pb.UpsertStreamRequest(record=rec("deadline", str(i), given_name="D"))
        self.assertEqual(code_of(lambda: list(SERVER.stub.UpsertStream(gen(), timeout=0.001))),
                         grpc.StatusCode.DEADLINE_EXCEEDED)
        SERVER.wait_serving(5)
        self.assertGreater(SERVER.stub.Stats(pb.StatsRequest(), timeout=5).records, 0)


class TestCli(Base):
    def test_commands_and_exit_codes(self):
        rc, out, _ = self.cli("health")
        self.assertEqual(rc, 0)
        self.assertIn("SERVING", out)
        rc, out, _ = self.cli("--json", "upsert", "--source", "cli", "--id", "7",
                              "--given", "Łukasz", "--family", "Nowak",
                              "--birth-date", "1979-05-02", "--email", "lukasz@example.pl",
                              "--email", "l.nowak@example.pl", "--phone", "+48 601 234 567",
                              "--city", "Kraków", "--postcode", "30-001", "--country", "PL",
                              "--identifier", "loyalty:PL-7", "--attr", "tier=silver")
        self.assertEqual(rc, 0, out)
        eid = json.loads(out)["entity_id"]
        rc, out, _ = self.cli("--json", "identify", "--given", "Lukasz", "--family", "Nowak",
                              "--birth-date", "1979-05-02", "--email", "lukasz@example.pl")
        self.assertEqual(rc, 0, out)
        self.assertEqual(json.loads(out)["entity_id"], eid)
        rc, out, _ = self.cli("identify", "--given", "Nobody", "--family", "Atall",
                              "--birth-date", "1901-01-01")
        self.assertEqual(rc, 1)
        rc, out, _ = self.cli("--json", "get", "--entity", str(eid))
        self.assertEqual(rc, 0)
        self.assertEqual(len(json.loads(out)["entity"]["emails"]), 2)
        rc, out, _ = self.cli("get", "--source", "cli", "--id", "7")
        self.assertEqual(rc, 0)
        self.assertIn("Nowak", out)
        rc, out, _ = self.cli("explain", "--given", "Lukasz", "--family", "Nowak",
                              "--entity", str(eid))
        self.assertEqual(rc, 0)
        self.assertIn("family_name", out)
        rc, out, _ = self.cli("--json", "explain", "--given", "Anna", "--with",
                              "given=Anna,family=Smith")
        self.assertEqual(rc, 0)
        self.assertIn("features", json.loads(out)["explanation"])
        rc, out, _ = self.cli("--json", "stats")
        self.assertEqual(rc, 0)
        self.assertGreater(json.loads(out)["records"], 0)
        rc, _, _ = self.cli("get", "--entity", "987654321")
        self.assertEqual(rc, 1)
        rc, _, err = self.cli("upsert", "--source", "cli", "--id", "8", "--birth-date", "19x")
        self.assertEqual(rc, 3, err)
        rc, _, _ = self.cli("frobnicate")
        self.assertEqual(rc, 2)
        rc, out, _ = self.cli("--help")
        self.assertEqual(rc, 0)
        self.assertIn("Exit codes", out)
        rc, out, _ = self.cli("delete", "--source", "cli", "--id", "7")
        self.assertEqual(rc, 0)
        rc, _, _ = self.cli("delete", "--source", "cli", "--id", "7")
        self.assertEqual(rc, 1)
        p = subprocess.run([ARGS.cli, "--server", "127.0.0.1:1", "--timeout-ms", "2000",
                            "health"], capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 4)
        rc, out, _ = self.cli("health", "--wait", "5")
        self.assertEqual(rc, 0)
        self.assertIn("SERVING", out)
        t0 = time.time()
        p = subprocess.run([ARGS.cli, "--server", "127.0.0.1:1", "--timeout-ms", "200",
                            "health", "--wait", "1"], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 4)
        self.assertGreaterEqual(time.time() - t0, 1.0)
        self.assertEqual(p.stderr.count("UNAVAILABLE"), 1, p.stderr)  # the last answer only

    def test_load_and_resume(self):
        path = os.path.join(ARGS.work, "load.csv")
        with open(path, "w") as f:
            f.write("rid,fname,sname,dob,mail\n")
            for i in range(1, 3001):
                dob = "1980-02-30x" if i == 1500 else "1980-%02d-%02d" % (i % 12 + 1, i % 28 + 1)
                f.write("r%d,Given%d,Family%d,%s,p%d@example.com\n" % (i, i, i, dob, i))
        args = ["load", path, "--source", "loadtest", "--id", "rid",
                "--map", "given_name=fname,family_name=sname,birth_date=dob,email=mail"]
        rc, out, err = self.cli("--json", *args, "--ack-every", "250")
        self.assertEqual(rc, 3, out + err)
        s = json.loads(out)
        self.assertEqual((s["rows"], s["accepted"], s["rejected"]), (3000, 2999, 1))
        self.assertEqual(s["failures"][0]["row"], 1500)
        self.assertEqual(s["resume_from"], 3000)
        self.assertIn("progress rows=", err)
        rc, out, err = self.cli(*args, "--resume-from", "2000")
        self.assertEqual(rc, 0, out + err)
        self.assertIn("skipped 2000", out)
        self.assertIn("next row to resume from: 3000", out)
        g = SERVER.stub.GetEntity(pb.GetEntityRequest(record_key=pb.RecordKey(
            source="loadtest", source_id="r2999")), timeout=5)
        self.assertEqual(g.entity.given_name.value, "Given2999")


def write_preload(name, source, n):
    """A CSV of n plain records from source under ARGS.work, for --load:
    big enough that the server is seen preloading. Returns its path."""
    path = os.path.join(ARGS.work, name)
    with open(path, "w") as f:
        f.write("source,source_id,given_name,family_name,birth_date\n")
        for i in range(n):
            f.write("%s,%d,G%d,F%d,19%02d\n" % (source, i, i % 5000, i, i % 100))
    return path


class TestLifecycle(Base):
    def test_health_wait_while_preloading(self):
        """`reconnu health --wait` returns once the server is SERVING."""
        path = write_preload("preload-wait.csv", "pw", 100000)
        srv = Server("preload-wait", ["--load", path])
        try:
            rc, out, _ = self.cli_at(srv, "health")
            self.assertEqual(rc, 4, out)  # NOT_SERVING while preloading
            rc, out, _ = self.cli_at(srv, "health", "--wait", "50")
            self.assertEqual(rc, 0, out)
            self.assertIn("SERVING", out)
            self.assertGreater(srv.stub.Stats(pb.StatsRequest(), timeout=5).records, 0)
        finally:
            srv.stop()

    def test_unavailable_while_preloading(self):
        path = write_preload("preload.csv", "pre", 150000)
        srv = Server("preload", ["--load", path])
        try:
            seen_not_serving = seen_unavailable = False
            deadline = time.time() + 40
            while time.time() < deadline:
                try:
                    h = srv.health.Check(hpb.HealthCheckRequest(), timeout=2)
                except grpc.RpcError:
                    time.sleep(0.02)
                    continue
                if h.status == hpb.HealthCheckResponse.SERVING:
                    break
                seen_not_serving = True
                if code_of(lambda: srv.stub.Stats(pb.StatsRequest(), timeout=2)) == \
                        grpc.StatusCode.UNAVAILABLE:
                    seen_unavailable = True
                time.sleep(0.02)
            self.assertTrue(seen_not_serving)
            self.assertTrue(seen_unavailable)
            srv.wait_serving(30)
            self.assertEqual(srv.stub.Stats(pb.StatsRequest(), timeout=5).records, 150000)
        finally:
            self.assertEqual(srv.stop(), 0)

    def test_restart_recovers_writes(self):
        srv = Server("restart")
        srv.wait_serving()
        r = srv.stub.Upsert(pb.UpsertRequest(record=rec(
            "durable", "1", given_name="Ada", family_name="Lovelace",
            birth_date="1815-12-10")), timeout=10)
        msgs = list(srv.stub.UpsertStream(iter([pb.UpsertStreamRequest(
            record=rec("durable", str(i), given_name="R%d" % i)) for i in range(2, 50)]),
            timeout=30))
        self.assertEqual(msgs[-1].summary.totals.accepted, 48)
        self.assertEqual(srv.stop(), 0)
        again = Server("restart-2", ["--data-dir", os.path.join(ARGS.work, "restart", "data")])
        try:
            again.wait_serving()
            g = again.stub.GetEntity(pb.GetEntityRequest(entity_id=r.entity_id), timeout=5)
            self.assertEqual(g.entity.family_name.value, "Lovelace")
            self.assertEqual(again.stub.Stats(pb.StatsRequest(), timeout=5).records, 49)
        finally:
            self.assertEqual(again.stop(), 0)
        self.assertIn("event=recovered records=49", open(again.log_path).read())

    def test_snapshot_then_restart(self):
        """Snapshot, more writes, kill -9, restart: the snapshot is loaded,
        only the later writes are replayed, and the graph is the same."""
        srv = Server("snap")
        srv.wait_serving()

        def person(i):
            # pairs 2k, 2k+1 share name, birth date and e-mail: they merge
            k = i // 2
            return rec("snap", str(i), given_name="Given%d" % k, family_name="Family%d" % k,
                       birth_date="1970-%02d-%02d" % (k % 12 + 1, k % 28 + 1),
                       emails=["p%d@example.org" % k])
        msgs = list(srv.stub.UpsertStream(iter([pb.UpsertStreamRequest(record=person(i))
                                                for i in range(300)]), timeout=60))
        self.assertEqual(msgs[-1].summary.totals.accepted, 300)
        rc, out, err = self.cli_at(srv, "--json", "snapshot")
        self.assertEqual(rc, 0, out + err)
        snap = json.loads(out)
        self.assertGreater(snap["lsn"], 0)
        self.assertEqual(snap["records"], 300)
        self.assertGreater(snap["bytes"], 0)
        self.assertIn("write_pause_seconds", snap)
        for i in range(300, 320):
            srv.stub.Upsert(pb.UpsertRequest(record=person(i)), timeout=10)

        def graph(s):
            out = {}
            for i in range(320):
                g = s.stub.GetEntity(pb.GetEntityRequest(record_key=pb.RecordKey(
                    source="snap", source_id=str(i))), timeout=5).entity
                out[i] = (g.entity_id, tuple(sorted((m.source, m.source_id) for m in g.members)))
            return out
        before = graph(srv)
        st_before = srv.stub.Stats(pb.StatsRequest(), timeout=5)
        self.assertEqual(st_before.last_snapshot_lsn, snap["lsn"])
        self.assertEqual(srv.stop(signal.SIGKILL), -signal.SIGKILL)
        again = Server("snap-2", ["--data-dir", os.path.join(ARGS.work, "snap", "data")])
        try:
            again.wait_serving()
            st = again.stub.Stats(pb.StatsRequest(), timeout=5)
            self.assertEqual(st.snapshot_lsn, snap["lsn"])
            self.assertEqual(st.replayed, 20)
            self.assertEqual((st.records, st.entities, st.edges, st.aliases),
                             (st_before.records, st_before.entities, st_before.edges,
                              st_before.aliases))
            self.assertEqual(graph(again), before)
        finally:
            self.assertEqual(again.stop(), 0)
        log = open(again.log_path).read()
        self.assertIn("snapshot_lsn=%d" % snap["lsn"], log)
        self.assertIn("replayed=20 ", log)

    def test_periodic_and_shutdown_snapshots(self):
        srv = Server("snap-auto", ["--snapshot-every-ops", "100",
                                   "--snapshot-interval-s", "1"])
        srv.wait_serving()

        def wait_log(needle, timeout=10):
            deadline = time.time() + timeout
            while time.time() < deadline:
                if needle in open(srv.log_path).read():
                    return True
                time.sleep(0.05)
            return False
        list(srv.stub.UpsertStream(iter([pb.UpsertStreamRequest(record=rec(
            "auto", str(i), given_name="A%d" % i, family_name="Auto")) for i in range(250)]),
            timeout=60))
        self.assertTrue(wait_log("event=snapshot reason=ops"), open(srv.log_path).read())
        srv.stub.Upsert(pb.UpsertRequest(record=rec("auto", "x", given_name="X")), timeout=10)
        self.assertTrue(wait_log("event=snapshot reason=interval"), open(srv.log_path).read())
        srv.stub.Upsert(pb.UpsertRequest(record=rec("auto", "y", given_name="Y")), timeout=10)
        self.assertEqual(srv.stop(), 0)
        log = open(srv.log_path).read()
        self.assertIn("event=snapshot reason=shutdown lsn=252 records=252", log)
        self.assertEqual(log.count("reason=shutdown"), 1)
        again = Server("snap-auto-2", ["--data-dir", os.path.join(ARGS.work, "snap-auto", "data")])
        try:
            again.wait_serving()
            st = again.stub.Stats(pb.StatsRequest(), timeout=5)
            self.assertEqual((st.records, st.snapshot_lsn, st.replayed), (252, 252, 0))
        finally:
            self.assertEqual(again.stop(), 0)
        # nothing written since the snapshot loaded: no shutdown snapshot
        self.assertNotIn("event=snapshot", open(again.log_path).read())

    def test_weights_estimate_set_restart(self):
        """Weights: too few records -> FAILED_PRECONDITION; estimate over
        RPC and CLI; bad configured weights -> INVALID_ARGUMENT and nothing
        changes; the model survives kill -9 (replayed from the log)."""
        srv = Server("weights")
        srv.wait_serving()
        try:
            srv.stub.EstimateWeights(pb.EstimateWeightsRequest(), timeout=30)
            self.fail("estimate on an empty server succeeded")
        except grpc.RpcError as e:
            self.assertEqual(e.code(), grpc.StatusCode.FAILED_PRECONDITION)
            self.assertIn("too few records", e.details())
        w0 = srv.stub.GetWeights(pb.GetWeightsRequest(), timeout=5)
        self.assertEqual(w0.model_version, 0)
        self.assertGreater(len(w0.weights), 20)

        def person(i):
            k = i // 3
            return rec("w", str(i), given_name=["Ana", "Bea", "Carl", "Dan"][k % 4],
                       family_name="Family%d" % (k % 50),
                       birth_date="19%02d-%02d-%02d" % (50 + k % 40, k % 12 + 1, k % 28 + 1),
                       emails=["p%d@example.org" % k] if i % 3 else [])
        msgs = list(srv.stub.UpsertStream(iter([pb.UpsertStreamRequest(record=person(i))
                                                for i in range(600)]), timeout=60))
        self.assertEqual(msgs[-1].summary.totals.accepted, 600)
        dry = srv.stub.EstimateWeights(pb.EstimateWeightsRequest(dry_run=True), timeout=60)
        self.assertTrue(dry.estimate.dry_run)
        self.assertEqual(dry.model_version, 0)
        rc, out, err = self.cli_at(srv, "--json", "weights", "--estimate", "--relink")
        self.assertEqual(rc, 0, out + err)
        est = json.loads(out)
        self.assertEqual(est["model_version"], 1)
        self.assertEqual(est["estimate"]["relinked"], 600)
        self.assertGreater(est["estimate"]["blocked_pairs"], 0)
        st = srv.stub.Stats(pb.StatsRequest(), timeout=5)
        for bad in ([pb.Weight(attribute="email", level="bogus", weight=1)],
                    [pb.Weight(attribute="shoe_size", level="exact", weight=1)],
                    [pb.Weight(attribute="email", level="exact", weight=1e9)]):
            try:
                srv.stub.SetWeights(pb.SetWeightsRequest(weights=bad), timeout=5)
                self.fail("bad weight accepted")
            except grpc.RpcError as e:
                self.assertEqual(e.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(srv.stub.GetWeights(pb.GetWeightsRequest(), timeout=5).model_version, 1)
        self.assertEqual(stats_key(srv.stub.Stats(pb.StatsRequest(), timeout=5)), stats_key(st))
        rc, out, err = self.cli_at(srv, "weights", "--set", "email.exact=9.5", "--prior", "-12")
        self.assertEqual(rc, 0, out + err)
        rc, out, err = self.cli_at(srv, "weights", "--set", "email.nope=1")
        self.assertEqual(rc, 3, out + err)
        got = srv.stub.GetWeights(pb.GetWeightsRequest(), timeout=5)
        self.assertEqual(got.model_version, 2)
        self.assertEqual(got.prior_weight, -12)
        self.assertIn(("email", "exact", 9.5),
                      [(w.attribute, w.level, w.weight) for w in got.weights])
        self.assertEqual(srv.stop(signal.SIGKILL), -signal.SIGKILL)
        again = Server("weights-2", ["--data-dir", os.path.join(ARGS.work, "weights", "data")])
        try:
            again.wait_serving()
            back = again.stub.GetWeights(pb.GetWeightsRequest(), timeout=5)
            self.assertEqual(back, got)
        finally:
            self.assertEqual(again.stop(), 0)

    def test_load_then_estimate(self):
        """reconnu load --estimate learns the weights after the bulk load."""
        srv = Server("load-estimate", ["--in-memory", "1"])
        try:
            srv.wait_serving()
            path = os.path.join(ARGS.work, "load-estimate.csv")
            with open(path, "w") as f:
                f.write("id,given,family,dob,email\n")
                for i in range(600):
                    k = i // 3
                    f.write("%d,%s,Family%d,19%02d-%02d-%02d,%s\n" % (
                        i, ["Ana", "Bea", "Carl", "Dan"][k % 4], k % 50, 50 + k % 40,
                        k % 12 + 1, k % 28 + 1, "p%d@example.org" % k if i % 3 else ""))
            rc, out, err = self.cli_at(srv, "load", path, "--map",
                                       "given_name=given,family_name=family,birth_date=dob,email=email",
                                       "--id", "id", "--source", "csv", "--estimate", "--relink")
            self.assertEqual(rc, 0, out + err)
            w = srv.stub.GetWeights(pb.GetWeightsRequest(), timeout=5)
            self.assertEqual(w.model_version, 1)
            self.assertEqual(srv.stub.Stats(pb.StatsRequest(), timeout=5).records, 600)
        finally:
            self.assertEqual(srv.stop(), 0)

    def test_snapshot_in_memory_refused(self):
        srv = Server("snap-mem", ["--in-memory", "1"])
        try:
            srv.wait_serving()
            try:
                srv.stub.Snapshot(pb.SnapshotRequest(), timeout=10)
                self.fail("Snapshot succeeded on an --in-memory server")
            except grpc.RpcError as e:
                self.assertEqual(e.code(), grpc.StatusCode.FAILED_PRECONDITION)
                self.assertIn("in-memory", e.details())
        finally:
            self.assertEqual(srv.stop(), 0)

    def test_sigterm_under_load(self):
        srv = Server("sigterm")
        srv.wait_serving()
        stop = threading.Event()
        codes, errors = [], []

        def client(k):
            ch = grpc.insecure_channel(srv.addr)
            st = pg.ReconnuStub(ch)
            i = 0
            while not stop.is_set() and i < 100000:
                i += 1
                try:
                    if i % 2:
                        st.Upsert(pb.UpsertRequest(record=rec("term%d" % k, str(i),
                                                              given_name="T%d" % i)), timeout=5)
                    else:
                        st.Identify(pb.IdentifyRequest(record=pb.Record(given_name="T%d" % i)),
                                    timeout=5)
                    codes.append(grpc.StatusCode.OK)
                except grpc.RpcError as e:
                    codes.append(e.code())
                    if e.code() == grpc.StatusCode.UNAVAILABLE:
                        break
                except Exception as e:  # noqa: BLE001
                    errors.append(repr(e))
                    break
            ch.close()
        ts = [threading.Thread(target=client, args=(k,)) for k in range(4)]
        for t in ts:
            t.start()
        time.sleep(1.0)
        t0 = time.time()
        rc = srv.stop(signal.SIGTERM, timeout=20)
        stop.set()
        for t in ts:
            t.join(20)
        self.assertEqual(rc, 0, open(srv.log_path).read()[-2000:])
        self.assertLess(time.time() - t0, 15)
        self.assertEqual(errors, [])
        self.assertGreater(codes.count(grpc.StatusCode.OK), 10)
        allowed = {grpc.StatusCode.OK, grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED}
        self.assertTrue(set(codes) <= allowed, set(codes))
        log = open(srv.log_path).read()
        self.assertIn("event=shutdown_done exit=0", log)


def main():
    global ARGS, pb, pg, hpb, hpg, grpc, SERVER
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--cli", required=True)
    ap.add_argument("--proto-dir", required=True)
    ap.add_argument("--health-proto", required=True)
    ap.add_argument("--work", required=True)
    ARGS, rest = ap.parse_known_args()
    os.makedirs(ARGS.work, exist_ok=True)
    import grpc as grpc_mod
    grpc = grpc_mod
    gen_stubs(ARGS.work, ARGS.proto_dir, ARGS.health_proto)
    from reconnu.v1 import reconnu_pb2, reconnu_pb2_grpc
    from health_v1 import health_pb2, health_pb2_grpc
    pb, pg, hpb, hpg = reconnu_pb2, reconnu_pb2_grpc, health_pb2, health_pb2_grpc

    SERVER = Server("main")
    SERVER.wait_serving()
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    if rest:
        suite = unittest.defaultTestLoader.loadTestsFromNames(rest, sys.modules[__name__])
    res = unittest.TextTestRunner(verbosity=2).run(suite)
    rc = SERVER.stop()
    failed = len(res.failures) + len(res.errors)
    passed = res.testsRun - failed - len(res.skipped)
    if rc != 0:
        print("main server exited with %d" % rc)
        failed += 1
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
