#!/bin/sh
# End to end on real Fashion-MNIST images (500 of them):
#  - a small cfg trained with ALI-G for 40 steps: the loss falls by >= 2x;
#  - non-finite losses skip steps; 100 in a row stop training with exit != 0
#    and leave the weights file it started from intact;
#  - bnstats re-estimates batch-norm statistics of existing weights.
. tests/lib.sh
fashion_small

small_cfg "$TMP/alig.cfg" "policy=alig
learning_rate=0.5
momentum=0.9"
./darknet classifier train "$FASHION.data" "$TMP/alig.cfg" >"$TMP/train.log" 2>"$TMP/train.err"
rc=$?
[ $rc -eq 0 ] && ok "ALI-G training exits 0" || { bad "ALI-G training exit $rc"; tail -5 "$TMP/train.err"; }
grep -q "^ALI-G: max step (learning_rate) 0.5, momentum 0.9 (nesterov)" "$TMP/train.err" &&
    ok "settings printed once at start" || bad "settings line missing"
awk -F'[,:]' '/ rate, /{ n++; loss[n]=$3 } END {
        first = (loss[1]+loss[2]+loss[3])/3; last = (loss[n]+loss[n-1]+loss[n-2])/3;
        printf "first 3 steps %.3f, last 3 steps %.3f, %d steps\n", first, last, n;
        exit !(n == 40 && last <= first / 2) }' "$TMP/train.log" &&
    ok "loss falls by >= 2x over 40 ALI-G steps" || bad "loss did not fall by 2x"
awk '/ rate, /{ r=$0; sub(/ rate,.*/, "", r); sub(/.* /, "", r); if (r+0 <= 0 || r+0 > 0.5) bad=1 } END { exit bad }' "$TMP/train.log" &&
    ok "rate column shows the step taken (0 < step <= max step 0.5)" || bad "rate column out of (0, 0.5]"
grep -q "Batch-norm statistics re-estimated over 50 batches" "$TMP/train.err" &&
    ok "batch-norm statistics re-estimated before saving" || bad "no batch-norm re-estimation before save"
[ -s "$TMP/backup/alig.weights" ] && ok "final weights saved" || bad "no final weights"

# burn_in/power ramp the maximal step as upstream ramps the rate:
# step at iteration i (1-based, counted after the update) <= 0.5 * (i/10)^2.
small_cfg "$TMP/burn.cfg" "policy=alig
learning_rate=0.5
burn_in=10
power=2
bn_recalibrate=0"
sed -i 's/^max_batches=40$/max_batches=12/' "$TMP/burn.cfg"
./darknet classifier train "$FASHION.data" "$TMP/burn.cfg" >"$TMP/burn.log" 2>/dev/null
awk -F, '/ rate, /{ i=$1+0; r=$0; sub(/ rate,.*/, "", r); sub(/.* /, "", r); cap = (i < 10) ? 0.5*(i/10)^2 : 0.5;
        if (r+0 > cap*1.0001 + 1e-6) { print "iteration " i ": step " r " > " cap; bad=1 } n++ }
        END { exit bad || n != 12 }' "$TMP/burn.log" &&
    ok "burn_in=10 power=2 ramps the maximal step" || bad "burn-in ramp not respected"

# NaN weights: every step has a non-finite loss and is skipped.
cp "$TMP/backup/alig.weights" "$TMP/good.weights"
/usr/bin/python3 - "$TMP/good.weights" "$TMP/nan.weights" <<'PY'
import struct, sys
data = open(sys.argv[1], 'rb').read()
head, body = data[:20], data[20:]
n = len(body) // 4
open(sys.argv[2], 'wb').write(head + struct.pack('<%df' % n, *([float('nan')] * n)))
PY
cp "$TMP/nan.weights" "$TMP/nan.orig"
small_cfg "$TMP/nan.cfg" "policy=alig
learning_rate=0.5
bn_recalibrate=0"
sed -i 's/^max_batches=40$/max_batches=300/' "$TMP/nan.cfg"
expect_fail "100 skipped steps in a row stop training" "100 steps in a row had a non-finite loss" -- \
    ./darknet classifier train "$FASHION.data" "$TMP/nan.cfg" "$TMP/nan.weights" -clear
grep -c "step skipped" "$TMP/out" | grep -qx 100 && ok "each skipped step is reported (100 lines)" || bad "skip count lines: $(grep -c 'step skipped' "$TMP/out")"
cmp -s "$TMP/nan.weights" "$TMP/nan.orig" && ok "weights file it started from is intact" || bad "starting weights file changed"
[ ! -e "$TMP/backup/nan.weights" ] && ok "no final weights written after the stop" || bad "final weights written despite the stop"

# bnstats on the good weights
./darknet classifier bnstats "$FASHION.data" "$TMP/alig.cfg" "$TMP/good.weights" "$TMP/bn.weights" >"$TMP/bn.log" 2>&1
[ $? -eq 0 ] && [ -s "$TMP/bn.weights" ] && ok "bnstats writes re-estimated weights" || { bad "bnstats failed"; tail -3 "$TMP/bn.log"; }
finish
