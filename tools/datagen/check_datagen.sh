#!/usr/bin/env bash
# check_datagen.sh — end-to-end checks of reconnu-datagen (ctest tool.datagen).
#
# usage: check_datagen.sh path/to/reconnu-datagen [febrl-freq-dir]
#
# Determinism (same seed → byte-identical, other seed → different), the CSV
# header and shape (RFC 4180, parsed with Python's csv module), row counts,
# one truth cluster per person with at least one record, unique source ids,
# JSONL equivalence, usage errors (exit 2), native scripts and the planted
# hard cases. Ends with "N passed, N failed"; exit status 1 on any failure.
set -u

GEN=${1:?usage: check_datagen.sh path/to/reconnu-datagen [freq-dir]}
FREQ=${2:-}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/datagen.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
PERSONS=3000
pass=0
fail=0

ok() {
	pass=$((pass + 1))
	echo "ok - $1"
}
not_ok() {
	fail=$((fail + 1))
	echo "not ok - $1"
}
check() { # check "description" command...
	local what=$1
	shift
	if "$@" >"$TMP/out.log" 2>&1; then ok "$what"; else
		not_ok "$what"
		sed 's/^/#   /' "$TMP/out.log" | head -20
	fi
}
exit_code_is() { # exit_code_is CODE command...
	local want=$1
	shift
	"$@" >/dev/null 2>"$TMP/err.log"
	local got=$?
	[ "$got" -eq "$want" ] || {
		echo "exit $got, want $want"
		return 1
	}
}

"$GEN" --persons $PERSONS --seed 42 >"$TMP/a.csv"
"$GEN" --persons $PERSONS --seed 42 >"$TMP/b.csv"
"$GEN" --persons $PERSONS --seed 43 >"$TMP/c.csv"
"$GEN" --persons $PERSONS --seed 42 --out "$TMP/d.csv"
"$GEN" --persons $PERSONS --seed 42 --format jsonl >"$TMP/a.jsonl"
"$GEN" --persons $PERSONS --seed 42 --format jsonl >"$TMP/b.jsonl"
"$GEN" --persons $PERSONS --seed 42 --ordered >"$TMP/o.csv"
"$GEN" --persons 500 --seed 9 --scripts-rate 1 >"$TMP/native.csv"
"$GEN" --persons 500 --seed 9 --scripts-rate 0 >"$TMP/latin.csv"

check "same seed gives byte-identical CSV" cmp "$TMP/a.csv" "$TMP/b.csv"
check "same seed gives byte-identical JSONL" cmp "$TMP/a.jsonl" "$TMP/b.jsonl"
check "--out FILE equals stdout" cmp "$TMP/a.csv" "$TMP/d.csv"
check "different seed gives different output" \
	bash -c '! cmp -s "$0" "$1"' "$TMP/a.csv" "$TMP/c.csv"

HEADER="source,source_id,given_name,family_name,birth_date,gender,email,email2,phone,phone2,address_line1,city,postcode,country,loyalty_id,updated_at,consent_email,person_id"
check "CSV header" test "$(head -n 1 "$TMP/a.csv")" = "$HEADER"
check "--ordered holds the same records" \
	bash -c 'cmp <(sort "$0") <(sort "$1")' "$TMP/a.csv" "$TMP/o.csv"
check "--ordered keeps each person's records adjacent" \
	bash -c 'tail -n +2 "$0" | awk -F, "{print \$NF}" | uniq | sort | uniq -d | grep -q . && exit 1 || exit 0' "$TMP/o.csv"

check "--help exits 0" exit_code_is 0 "$GEN" --help
check "no argument is a usage error (2)" exit_code_is 2 "$GEN"
check "unknown option is a usage error (2)" exit_code_is 2 "$GEN" --persons 3 --bogus
check "bad --format is a usage error (2)" exit_code_is 2 "$GEN" --persons 3 --format xml
check "bad --persons is a usage error (2)" exit_code_is 2 "$GEN" --persons -4
check "bad --scripts-rate is a usage error (2)" exit_code_is 2 "$GEN" --persons 3 --scripts-rate 1.5
check "missing option value is a usage error (2)" exit_code_is 2 "$GEN" --persons
check "usage errors go to stderr" bash -c '"$0" --bogus 2>/dev/null | grep -q . && exit 1 || exit 0' "$GEN"
check "missing --freq-dir tables is a runtime error (1)" exit_code_is 1 "$GEN" --persons 3 --freq-dir "$TMP/nowhere"
check "--persons 0 writes the header only" \
	bash -c 'test "$("$0" --persons 0 | wc -l)" -eq 1' "$GEN"

if [ -n "$FREQ" ] && [ -f "$FREQ/givenname-freq.csv" ]; then
	"$GEN" --persons 2000 --seed 5 --freq-dir "$FREQ" >"$TMP/f1.csv"
	"$GEN" --persons 2000 --seed 5 --freq-dir "$FREQ" >"$TMP/f2.csv"
	check "--freq-dir output is deterministic" cmp "$TMP/f1.csv" "$TMP/f2.csv"
	check "--freq-dir changes the names" \
		bash -c '! cmp -s "$0" <("$1" --persons 2000 --seed 5)' "$TMP/f1.csv" "$GEN"
else
	echo "# skipping --freq-dir checks: no Febrl tables at '${FREQ}'"
fi

if command -v python3 >/dev/null; then
	python3 - "$TMP" "$PERSONS" "$HEADER" <<'EOF' >"$TMP/py.log" 2>&1
import csv, collections, json, re, sys
tmp, persons, header = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(",")

def load(path):
    with open(path, newline="", encoding="utf-8") as f:  # strict UTF-8
        return list(csv.reader(f))

def check(name, cond, detail=""):
    print(("ok - " if cond else "not ok - ") + name + ("" if cond else " " + str(detail)))

rows = load(tmp + "/a.csv")
recs = [dict(zip(header, r)) for r in rows[1:]]
check("every CSV row has %d fields" % len(header),
      all(len(r) == len(header) for r in rows), [r for r in rows if len(r) != len(header)][:1])
check("row count within persons..5*persons", persons <= len(recs) <= 5 * persons, len(recs))
ids = collections.Counter(r["person_id"] for r in recs)
want = {"P%09d" % i for i in range(1, persons + 1)}
check("every truth cluster has >= 1 record", set(ids) == want,
      sorted(want ^ set(ids))[:5])
sizes = collections.Counter(ids.values())
check("cluster sizes 1..5, ~40% singletons",
      set(sizes) <= {1, 2, 3, 4, 5} and 0.3 < sizes[1] / persons < 0.5, dict(sizes))
keys = collections.Counter((r["source"], r["source_id"]) for r in recs)
check("source ids unique per source", max(keys.values()) == 1)
check("all six sources present",
      {r["source"] for r in recs} == {"eshop", "pos-paris", "pos-london",
                                      "clienteling", "crm-export", "marketing"})
check("birth_date is YYYY-MM-DD, YYYY or empty",
      all(re.fullmatch(r"(\d{4}(-\d\d-\d\d)?)?", r["birth_date"]) for r in recs))
check("updated_at is unix ms",
      all(1400000000000 < int(r["updated_at"]) < 1800000000000 for r in recs))
check("consent_email is granted/revoked/empty",
      {r["consent_email"] for r in recs} <= {"granted", "revoked", ""})
check("countries are the ten ISO codes",
      {r["country"] for r in recs} <= set("FR GB DE IT ES US CN KR RU JP".split()) | {""})
check("some fields need RFC 4180 quoting",
      any('"' in line for line in open(tmp + "/a.csv", encoding="utf-8")))

js = []
with open(tmp + "/a.jsonl", encoding="utf-8") as f:
    for line in f:
        js.append(json.loads(line))
flat = [[("" if j[k] is None else str(j[k])) for k in header] for j in js]
check("JSONL holds the same records as CSV", flat == rows[1:])

def by_person(rs):
    owners = collections.defaultdict(set)
    for r in rs:
        for col in ("email", "phone"):
            if r[col]:
                owners[r[col].lower()].add(r["person_id"])
    return owners
owners = by_person(recs)
check("till placeholders shared by unrelated persons",
      len(owners.get("noemail@shop.com", ())) > 1 or len(owners.get("0000000000", ())) > 1)
check("family members share an e-mail or phone",
      any(len(v) > 1 for k, v in owners.items() if k not in ("noemail@shop.com", "0000000000")))
fam = collections.defaultdict(set)
for r in recs:
    if r["family_name"].lower() in ("martin", "smith", "wang") and len(r["birth_date"]) == 10:
        fam[r["family_name"].lower()].add(r["birth_date"])
check("common names with different birth dates", sum(len(v) > 5 for v in fam.values()) >= 2, dict((k, len(v)) for k, v in fam.items()))

script = re.compile("[\u0400-\u04ff\u4e00-\u9fff\uac00-\ud7af]")
nat = [dict(zip(header, r)) for r in load(tmp + "/native.csv")[1:]]
lat = [dict(zip(header, r)) for r in load(tmp + "/latin.csv")[1:]]
check("--scripts-rate 1 writes Cyrillic/Han/Hangul names",
      sum(bool(script.search(r["given_name"] + r["family_name"])) for r in nat) > 20)
check("--scripts-rate 0 writes none",
      not any(script.search(r["given_name"] + r["family_name"]) for r in lat))
EOF
	pyrc=$?
	cat "$TMP/py.log"
	p=$(grep -c '^ok - ' "$TMP/py.log")
	f=$(grep -c '^not ok - ' "$TMP/py.log")
	if [ "$pyrc" -ne 0 ]; then
		not_ok "python checks ran to the end (status $pyrc)"
	fi
	pass=$((pass + p))
	fail=$((fail + f))
else
	echo "# skipping CSV/JSONL content checks: python3 not found"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
