#!/bin/sh
# `darknet detector train` with policy=alig end to end on a small detection set
# made by scripts/make-fashion-detection: a two-head yolo network trains (ALI-G
# steps taken, finite, within max_lr), batch-norm statistics are re-estimated
# before every save (the yolo layers run in inference mode there: they read no
# truths), the final weights and the ALI-G sidecar are written, the process
# exits 0, and `darknet detector map` evaluates the weights. Skipped (77)
# without Debian's Fashion-MNIST.
. tests/lib.sh
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || { echo "skipped: dataset-fashion-mnist not installed"; exit 77; }
ROOT=$(pwd)
mkdir -p "$TMP/a"
(cd "$TMP/a" && "$ROOT/scripts/make-fashion-detection" --out det --data det.data --backup bk \
    --train 64 --test 16 --size 64 --max-objects 3 --seed 3) >"$TMP/gen.log" 2>&1 \
    || { bad "generator failed"; cat "$TMP/gen.log"; finish; }
cat > "$TMP/a/tiny.cfg" <<'CFG'
[net]
batch=16
subdivisions=2
width=64
height=64
channels=3
momentum=0.9
decay=0.0005
learning_rate=0.05
burn_in=2
max_batches=6
policy=alig
bn_recalibrate=2
jitter=0

[convolutional]
batch_normalize=1
filters=8
size=3
stride=2
pad=1
activation=leaky

[convolutional]
batch_normalize=1
filters=16
size=3
stride=2
pad=1
activation=leaky

[convolutional]
size=1
stride=1
pad=1
filters=45
activation=linear

[yolo]
mask=3,4,5
anchors=10,14, 20,12, 16,26, 32,20, 24,32, 36,40
classes=10
num=6
jitter=0
random=0

[route]
layers=-3

[convolutional]
size=1
stride=1
pad=1
filters=45
activation=linear

[yolo]
mask=0,1,2
anchors=10,14, 20,12, 16,26, 32,20, 24,32, 36,40
classes=10
num=6
jitter=0
random=0
CFG
# the second head reads layer 1 (stride 4): 16x16; the first reads layer 2 (stride 4 too,
# after its 1x1): a route back to layer 1 keeps both heads on real features.
(cd "$TMP/a" && timeout 300 "$ROOT/darknet" detector train det.data tiny.cfg) >"$TMP/train.out" 2>"$TMP/train.err"
rc=$?
[ $rc -eq 0 ] && ok "detector train with policy=alig exits 0" || { bad "detector train exit $rc"; tail -8 "$TMP/train.err"; }
grep -q "ALI-G: max step (learning_rate) 0.05" "$TMP/train.err" && ok "ALI-G attached to the yolo network" \
    || { bad "no ALI-G banner"; grep -i "alig\|yolo" "$TMP/train.err" | head -5; }
# iteration lines: "N: loss, avg avg, RATE rate, ..."; the rate is the step ALI-G took.
rates=$(sed -n 's/^ *[0-9]*: [^,]*, [^,]* avg, \([^ ]*\) rate.*/\1/p' "$TMP/train.out")
n=$(echo "$rates" | grep -c .)
[ "$n" = 6 ] && ok "6 iterations logged" || bad "expected 6 iteration lines, got $n"
if echo "$rates" | awk 'BEGIN { bad = 0 } { if (!($1 > 0 && $1 <= 0.05)) bad = 1 } END { exit bad }'; then
    ok "every step taken is finite, > 0 and <= max_lr: $(echo $rates)"
else
    bad "steps out of (0, max_lr]: $(echo $rates)"
fi
grep -q "non-finite" "$TMP/train.err" && bad "a step was skipped for a non-finite loss" || ok "no non-finite loss"
c=$(grep -c "Batch-norm statistics re-estimated over 2 batches" "$TMP/train.err")
[ "$c" -ge 1 ] && ok "batch-norm statistics re-estimated before saving ($c time(s))" || bad "no re-estimation before the save"
[ -s "$TMP/a/bk/tiny_final.weights" ] && [ -s "$TMP/a/bk/tiny_final.weights.alig" ] \
    && ok "final weights and ALI-G sidecar written" || bad "final weights or sidecar missing: $(ls "$TMP/a/bk")"

(cd "$TMP/a" && "$ROOT/darknet" detector map det.data tiny.cfg bk/tiny_final.weights) >"$TMP/map.out" 2>"$TMP/map.err"
rc=$?
m=$(sed -n 's/^mAP@0.50: \([0-9.]*\).*/\1/p' "$TMP/map.out")
if [ $rc -eq 0 ] && [ -n "$m" ] && awk -v m="$m" 'BEGIN { exit !(m >= 0 && m <= 1) }'; then
    ok "detector map on the trained weights: mAP@0.50 $m"
else
    bad "detector map failed (exit $rc)"; tail -5 "$TMP/map.err"
fi
finish
