#!/bin/sh
# The regression gate. First its verdicts on made-up results (no training):
# pass, ALI-G below its reference, ALI-G behind the best baseline, a missing
# run. Then `make regress` for real (about 4 minutes of training on the
# full Fashion-MNIST, against tests/reference/regress.json); REGRESS_TRAIN=0
# leaves that out (local runs only: CI runs it).
. tests/lib.sh
PY=/usr/bin/python3
[ -f tests/reference/regress.json ] && ok "reference committed: tests/reference/regress.json" || { bad "no tests/reference/regress.json"; finish; }
$PY - tests/reference/regress.json "$TMP/ref.json" <<'PY' || bad "reference file unreadable"
import json, sys
r = json.load(open(sys.argv[1]))
assert {"alig", "steps", "constant"} <= set(r["top1"]) and r["tolerance_reference_points"] > 0 and r["tolerance_baseline_points"] > 0
r["top1"] = {"alig": 86.0, "steps": 85.0, "constant": 84.0}
r["tolerance_reference_points"] = 1.5; r["tolerance_baseline_points"] = 1.0
json.dump(r, open(sys.argv[2], "w"))
PY
fake() { # dir alig steps constant
    mkdir -p "$1"
    { echo "policy,lr,seed,iterations,epochs,top1,top2,final_loss,train_seconds,seconds_per_iteration,clipped_fraction"
      [ -n "$2" ] && echo "alig,1,1,300,0.64,$2,0.9,0.4,60,0.2,1"
      echo "steps,0.1,1,300,0.64,$3,0.9,0.4,60,0.2,"
      echo "constant,0.1,1,300,0.64,$4,0.9,0.4,60,0.2,"
      echo "steps,0.3,1,300,0.64,0.99,0.9,0.4,60,0.2,"; } >"$1/results.csv"
}
fake "$TMP/pass" 0.8460 0.8550 0.8400
scripts/regress --reference "$TMP/ref.json" --results "$TMP/pass" >"$TMP/o" 2>&1 &&
    ok "passes: ALI-G 84.6 within 1.5 of its reference 86.0 and within 1.0 of the best baseline 85.5 (other rates ignored)" ||
    { bad "should pass"; cat "$TMP/o"; }
fake "$TMP/low" 0.8440 0.8300 0.8200
expect_fail "fails when ALI-G drops below its reference - 1.5" "FAILED" "vs its reference 86.00 - 1.5" -- \
    scripts/regress --reference "$TMP/ref.json" --results "$TMP/low"
fake "$TMP/behind" 0.8600 0.8710 0.8400
expect_fail "fails when ALI-G is behind the best baseline by more than 1.0" "FAILED" "vs best baseline steps 87.10 - 1.0" -- \
    scripts/regress --reference "$TMP/ref.json" --results "$TMP/behind"
fake "$TMP/none" "" 0.85 0.84
expect_fail "a missing ALI-G run is an error" "no result for alig" -- \
    scripts/regress --reference "$TMP/ref.json" --results "$TMP/none"

if [ "${REGRESS_TRAIN:-1}" = 0 ]; then echo "(REGRESS_TRAIN=0: make regress not run)"; finish; fi
make -s regress REGRESS_ARGS="--out $TMP/regress" >"$TMP/regress.out" 2>&1
rc=$?
grep -E "^\[regress\] [0-9]+ runs|^  (ok  |FAIL)|^  (alig|steps|constant) " "$TMP/regress.out"
[ $rc -eq 0 ] && ok "make regress passes" || { bad "make regress exit $rc"; tail -15 "$TMP/regress.out"; }
finish
