#!/bin/sh
# classifier train -log FILE (CSV: iteration, images, loss, step, unclipped,
# wall_seconds) and -seed N, on real Fashion-MNIST images (500 of them):
#  - one row per iteration with the right header, counts and images seen;
#  - ALI-G: step = min(max step, unclipped), and equals the stdout rate column;
#  - steps policy: step = the schedule's rate, unclipped empty;
#  - -seed: same seed, same initial weights (bit for bit); other seed, others;
#  - bad values are refused with a message.
. tests/lib.sh
fashion_small
PY=/usr/bin/python3

small_cfg "$TMP/alig.cfg" "policy=alig
learning_rate=0.5
momentum=0.9
bn_recalibrate=2"
sed -i 's/^max_batches=40/max_batches=12/' "$TMP/alig.cfg"
if ./darknet classifier train "$FASHION.data" "$TMP/alig.cfg" -log "$TMP/alig.csv" -seed 7 >"$TMP/alig.out" 2>"$TMP/alig.err"; then
    ok "ALI-G training with -log and -seed exits 0"
else bad "ALI-G training with -log: $(tail -3 "$TMP/alig.err")"; fi
[ "$(head -1 "$TMP/alig.csv")" = "iteration,images,loss,step,unclipped,wall_seconds" ] &&
    ok "CSV header" || bad "CSV header: $(head -1 "$TMP/alig.csv")"
$PY - "$TMP/alig.csv" "$TMP/alig.out" 0.5 <<'PY' && ok "ALI-G rows: 12 iterations, images 32*i, finite loss, step = min(0.5, unclipped) = stdout rate, wall clock rising" || bad "ALI-G CSV rows"
import csv, math, re, sys
rows = list(csv.DictReader(open(sys.argv[1])))
rates = [float(m.group(1)) for m in re.finditer(r", ([0-9.e+-]+) rate,", open(sys.argv[2]).read())]
lr = float(sys.argv[3])
assert len(rows) == 12 and len(rates) == 12, (len(rows), len(rates))
prev = -1
for i, r in enumerate(rows, 1):
    assert int(r["iteration"]) == i and int(r["images"]) == 32 * i, r
    loss, step, unc, t = float(r["loss"]), float(r["step"]), float(r["unclipped"]), float(r["wall_seconds"])
    assert math.isfinite(loss) and loss > 0 and unc > 0, r
    assert abs(step - min(lr, unc)) <= 1e-6 * max(1, unc), r
    assert abs(step - rates[i - 1]) <= 1e-6 + 1e-5 * step, (step, rates[i - 1])
    assert t >= prev >= -1; prev = t
PY

small_cfg "$TMP/steps.cfg" "policy=steps
steps=4,8
scales=.1,.1
learning_rate=0.1
momentum=0.9"
sed -i 's/^max_batches=40/max_batches=10/' "$TMP/steps.cfg"
./darknet classifier train "$FASHION.data" "$TMP/steps.cfg" -log "$TMP/steps.csv" >/dev/null 2>"$TMP/steps.err" ||
    bad "steps training with -log: $(tail -3 "$TMP/steps.err")"
$PY - "$TMP/steps.csv" <<'PY' && ok "steps rows: step = schedule rate (0.1, 0.01 from 4, 0.001 from 8), unclipped empty" || bad "steps CSV rows"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 10
for r in rows:
    it = int(r["iteration"])      # the batch counter after the update: the rate for the next step
    want = 0.1 if it < 4 else (0.01 if it < 8 else 0.001)
    assert abs(float(r["step"]) - want) < 1e-6 * want + 1e-9, (r, want)
    assert r["unclipped"] == "", r
PY

# -seed: a constant rate of 0 and no batch norm keep the initial weights.
small_cfg "$TMP/frozen.cfg" "learning_rate=0
momentum=0"
sed -i 's/^batch_normalize=1/batch_normalize=0/; s/^max_batches=40/max_batches=1/' "$TMP/frozen.cfg"
for run in a b c; do
    seed=11; [ $run = c ] && seed=12
    ./darknet classifier train "$FASHION.data" "$TMP/frozen.cfg" -seed $seed >/dev/null 2>&1 &&
        mv "$TMP/backup/frozen.weights" "$TMP/frozen-$run.weights" || bad "frozen training ($run)"
done
cmp -s "$TMP/frozen-a.weights" "$TMP/frozen-b.weights" && ok "-seed 11 twice: identical initial weights" ||
    bad "-seed 11 twice: weights differ"
cmp -s "$TMP/frozen-a.weights" "$TMP/frozen-c.weights" && bad "-seed 11 and 12: same weights" ||
    ok "-seed 11 and 12: different initial weights"

# Upstream's find_arg() leaves NULLs at the end of argv (-clear before -log).
./darknet classifier train "$FASHION.data" "$TMP/frozen.cfg" -clear -log "$TMP/clear.csv" -seed 3 >/dev/null 2>&1 &&
    [ "$(wc -l <"$TMP/clear.csv")" -eq 2 ] && ok "-clear with -log and -seed" || bad "-clear with -log and -seed"
expect_fail "-seed must be a number" "-seed: 'x1' is not a non-negative integer" -- \
    ./darknet classifier train "$FASHION.data" "$TMP/frozen.cfg" -seed x1
expect_fail "-log needs a writable file" "-log: cannot write $TMP/no/such/dir/x.csv" -- \
    ./darknet classifier train "$FASHION.data" "$TMP/frozen.cfg" -log "$TMP/no/such/dir/x.csv"
expect_fail "-log needs a value" "-log needs a value" -- \
    ./darknet classifier train "$FASHION.data" "$TMP/frozen.cfg" -log
finish
