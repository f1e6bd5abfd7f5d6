#!/bin/sh
# darknet detector map (src/detector_map.c, patch 0012) on a tiny detection
# set made here: four 32x32 PNGs with label files, a one-[yolo]-layer cfg.
#  - weights written by hand so that the network predicts known boxes: the
#    mAP is worked out below and must come out exactly;
#  - weights of a random initialisation: exit 0, a per-class table and an
#    mAP in [0, 1];
#  - bad input: exit non-zero, the file named, no crash.
. tests/lib.sh
DN=${DARKNET:-./darknet}
PY=python3
D=$TMP/set
mkdir -p "$D/images" "$D/labels"

# PNG images (stdlib only): a grey background with a bright square.
$PY - "$D/images" <<'PY' || { bad "cannot write the PNG images"; finish; }
import struct, sys, zlib
def png(path, w, h, px):
    raw = b"".join(b"\0" + bytes(px(x, y) for x in range(w) for _ in range(3)) for y in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
for i in range(4):
    png("%s/img%d.png" % (sys.argv[1], i), 32, 32, lambda x, y: 220 if 8 <= x < 24 and 8 + i <= y < 20 + i else 60)
PY

# Truths. Class 0 at (.5 .5 .5 .5) and class 1 at (.3 .25 .25 .25) in every
# image; class 2 only in image 1; class 3 never.
for i in 0 1 2 3; do
    printf '0 0.5 0.5 0.5 0.5\n1 0.3 0.25 0.25 0.25\n' > "$D/labels/img$i.txt"
    echo "$D/images/img$i.png" >> "$D/valid.list"
done
echo '2 0.8 0.8 0.2 0.2' >> "$D/labels/img1.txt"
printf 'circle\nsquare\ntriangle\nnothing\n' > "$D/names"
mkdata() { # file valid-list
    printf 'classes=4\ntrain=%s\nvalid=%s\nnames=%s\n' "$D/valid.list" "$2" "$D/names" > "$1"
}
mkdata "$D/set.data" "$D/valid.list"

# 32x32 -> conv 4 -> maxpool to 1x1 -> conv 2*(4+1+4) -> [yolo], 2 anchors.
cat > "$D/net.cfg" <<'CFG'
[net]
batch=2
subdivisions=1
width=32
height=32
channels=3
learning_rate=0.001
momentum=0.9
decay=0.0005
policy=steps
steps=100
scales=.1
max_batches=1

[convolutional]
filters=4
size=3
stride=1
pad=1
activation=leaky

[maxpool]
size=32
stride=32

[convolutional]
filters=18
size=1
stride=1
activation=linear

[yolo]
mask=0,1
anchors=16,16, 8,8
classes=4
num=2
jitter=0
ignore_thresh=.7
truth_thresh=1
random=0
CFG

# Hand-made weights: all conv weights 0, so the last conv outputs its biases
# whatever the image, and the single 1x1 cell predicts (for any image):
#   anchor 0 (16x16 of a 32 net): x = y = sigmoid(0) = .5, w = h = e^0 * 16/32
#     = .5; objectness sigmoid(6); class 0 sigmoid(6), others sigmoid(-12);
#   anchor 1 (8x8): x = y = sigmoid(ln 1/3) = .25, w = h = 8/32 = .25; class 1.
# Scores: sigmoid(6)^2 = .995 for the intended class, sigmoid(6) *
# sigmoid(-12) = 6e-6 < 0.005 for the rest (dropped).
#   class 0: box (.5 .5 .5 .5) = every class-0 truth: 4 TP, AP 1.
#   class 1: box (.25 .25 .25 .25) against truth (.3 .25 .25 .25): overlap
#     .2 x .25 = .05, union 2 x .0625 - .05 = .075, IoU = 2/3:
#     TP at -iou .5 (AP 1), FP at -iou .75 (AP 0).
#   class 2: one truth, never detected: AP 0.  class 3: no truth, left out.
#   mAP@0.50 = (1 + 1 + 0)/3 = 0.666667; mAP@0.75 = (1 + 0 + 0)/3 = 0.333333.
$PY - "$D/hand.weights" <<'PY' || { bad "cannot write the hand-made weights"; finish; }
import math, struct, sys
f = open(sys.argv[1], "wb")
f.write(struct.pack("<iiiQ", 0, 2, 0, 0))           # major, minor, revision, seen
def conv(biases, nweights):
    f.write(struct.pack("<%df" % len(biases), *biases))
    f.write(struct.pack("<%df" % nweights, *([0.0] * nweights)))
conv([0.0] * 4, 4 * 3 * 3 * 3)
b = []
for cls, xy in ((0, 0.0), (1, math.log(1 / 3.0))):
    b += [xy, xy, 0.0, 0.0, 6.0] + [6.0 if c == cls else -12.0 for c in range(4)]
conv(b, 18 * 4)
PY

# --- the known answer ------------------------------------------------------
if timeout 120 "$DN" detector map "$D/set.data" "$D/net.cfg" "$D/hand.weights" >"$TMP/hand.out" 2>"$TMP/hand.err"; then
    ok "map with hand-made weights: exit 0"
else
    bad "map with hand-made weights: exit $?"; tail -5 "$TMP/hand.err"
fi
last=$(tail -1 "$TMP/hand.out")
[ "${last%% (*}" = "mAP@0.50: 0.666667" ] && ok "final line: $last" || bad "final line '$last', expected mAP@0.50: 0.666667 (by hand)"
row() { grep -E "^ +$1 +$2 " "$TMP/hand.out"; }
row 0 circle | grep -qE ' 4 +4 +4 +100\.00 %' && ok "class 0: 4 truths, 4 detections, 4 TP, AP 100 %" || { bad "class 0 row"; cat "$TMP/hand.out"; }
row 1 square | grep -qE ' 4 +4 +4 +100\.00 %' && ok "class 1: IoU 2/3 >= .5, AP 100 %" || bad "class 1 row: $(row 1 square)"
row 2 triangle | grep -qE ' 1 +0 +0 +0\.00 %' && ok "class 2: 1 truth, no detection, AP 0 %" || bad "class 2 row: $(row 2 triangle)"
row 3 nothing | grep -q 'no ground truth' && ok "class 3: no ground truth, said so" || bad "class 3 row: $(row 3 nothing)"
grep -q 'thresh 0.005,' "$TMP/hand.err" && ok "default -thresh is 0.005 for map" || bad "default threshold not 0.005: $(grep 'detector map:' "$TMP/hand.err")"

timeout 120 "$DN" detector map "$D/set.data" "$D/net.cfg" "$D/hand.weights" -iou 0.75 >"$TMP/iou.out" 2>&1
last=$(tail -1 "$TMP/iou.out")
[ "${last%% (*}" = "mAP@0.75: 0.333333" ] && ok "-iou 0.75: $last (class 1 IoU 2/3 now a miss)" || bad "-iou 0.75: '$last', expected mAP@0.75: 0.333333"

timeout 120 "$DN" detector map "$D/set.data" "$D/net.cfg" "$D/hand.weights" -thresh 0.999 >"$TMP/th.out" 2>&1
last=$(tail -1 "$TMP/th.out")
[ "${last%% (*}" = "mAP@0.50: 0.000000" ] && ok "-thresh 0.999 drops every score (.995): $last" || bad "-thresh 0.999: '$last'"

# The other path rule of training: JPEGImages/ -> labels/, .jpg -> .txt (stb
# reads the PNG bytes whatever the name). Only class 0 has a truth, and the
# class-1 detection has none to count against: mAP over 1 class = 1.
mkdir -p "$D/JPEGImages"
cp "$D/images/img0.png" "$D/JPEGImages/j0.jpg"
echo '0 0.5 0.5 0.5 0.5' > "$D/labels/j0.txt"
echo "$D/JPEGImages/j0.jpg" > "$TMP/jpeg.list"
mkdata "$TMP/jpeg.data" "$TMP/jpeg.list"
timeout 120 "$DN" detector map "$TMP/jpeg.data" "$D/net.cfg" "$D/hand.weights" >"$TMP/jpeg.out" 2>&1
last=$(tail -1 "$TMP/jpeg.out")
[ "$last" = "mAP@0.50: 1.000000 (100.00 %, mean over 1 of 4 classes)" ] && grep -qE '^ +1 +square +0 +1 .*no ground truth' "$TMP/jpeg.out" \
    && ok "JPEGImages/*.jpg finds labels/*.txt; class 1 (a detection, no truth) left out: $last" || { bad "JPEGImages case: '$last'"; tail -6 "$TMP/jpeg.out"; }

# --- weights of a random initialisation --------------------------------------
# `darknet partial CFG "" OUT N` saves the freshly initialised network (no
# weights loaded). Not `detector train`: upstream's train_detector returns
# without joining its last data-loading thread, which then writes into the
# returned stack frame (about 1 run in 5 ends in a segfault after the save).
R=$TMP/random.weights
if timeout 60 "$DN" partial "$D/net.cfg" "" "$R" 100 >"$TMP/partial.out" 2>&1 && [ -s "$R" ]; then
    ok "random-init weights saved ($(wc -c < "$R") bytes)"
    if timeout 120 "$DN" detector map "$D/set.data" "$D/net.cfg" "$R" >"$TMP/rand.out" 2>"$TMP/rand.err"; then
        ok "map with random-init weights: exit 0"
    else
        bad "map with random-init weights: exit $?"; tail -5 "$TMP/rand.err"
    fi
    [ "$(grep -cE '^ +[0-3] +(circle|square|triangle|nothing) ' "$TMP/rand.out")" -eq 4 ] && ok "per-class table: 4 rows" || { bad "per-class table"; cat "$TMP/rand.out"; }
    v=$(tail -1 "$TMP/rand.out" | sed -n 's/^mAP@0\.50: \([0-9.]*\) .*/\1/p')
    if [ -n "$v" ] && awk -v v="$v" 'BEGIN { exit !(v >= 0 && v <= 1) }'; then ok "random-init mAP@0.50 = $v, in [0, 1]"
    else bad "no mAP in [0, 1] on the last line: $(tail -1 "$TMP/rand.out")"; fi
else
    bad "darknet partial could not save random-init weights"; tail -5 "$TMP/partial.out"
fi

# --- bad input -------------------------------------------------------------
W=$D/hand.weights
expect_fail missing_data "$TMP/nope.data" -- timeout 60 "$DN" detector map "$TMP/nope.data" "$D/net.cfg" "$W"
printf 'classes=4\nnames=%s\n' "$D/names" > "$TMP/novalid.data"
expect_fail no_valid_key "$TMP/novalid.data" "valid=" -- timeout 60 "$DN" detector map "$TMP/novalid.data" "$D/net.cfg" "$W"
mkdata "$TMP/nolist.data" "$D/missing.list"
expect_fail missing_valid_list "$D/missing.list" -- timeout 60 "$DN" detector map "$TMP/nolist.data" "$D/net.cfg" "$W"
: > "$TMP/empty.list"
mkdata "$TMP/empty.data" "$TMP/empty.list"
expect_fail empty_valid_list "$TMP/empty.list" "no images" -- timeout 60 "$DN" detector map "$TMP/empty.data" "$D/net.cfg" "$W"
# An image whose label file is missing.
cp "$D/images/img0.png" "$D/images/nolabel.png"
{ cat "$D/valid.list"; echo "$D/images/nolabel.png"; } > "$TMP/nolabel.list"
mkdata "$TMP/nolabel.data" "$TMP/nolabel.list"
expect_fail missing_label_file "$D/labels/nolabel.txt" "$D/images/nolabel.png" -- timeout 60 "$DN" detector map "$TMP/nolabel.data" "$D/net.cfg" "$W"
# A label file without its image.
echo '0 0.5 0.5 0.5 0.5' > "$D/labels/ghost.txt"
{ cat "$D/valid.list"; echo "$D/images/ghost.png"; } > "$TMP/noimage.list"
mkdata "$TMP/noimage.data" "$TMP/noimage.list"
expect_fail missing_image "$D/images/ghost.png" -- timeout 60 "$DN" detector map "$TMP/noimage.data" "$D/net.cfg" "$W"
# A class id the data file does not have.
cp "$D/images/img0.png" "$D/images/badclass.png"
echo '7 0.5 0.5 0.5 0.5' > "$D/labels/badclass.txt"
echo "$D/images/badclass.png" > "$TMP/badclass.list"
mkdata "$TMP/badclass.data" "$TMP/badclass.list"
expect_fail label_class_out_of_range "$D/labels/badclass.txt" "class 7" -- timeout 60 "$DN" detector map "$TMP/badclass.data" "$D/net.cfg" "$W"
# Label files without a single box: no AP to average.
cp "$D/images/img0.png" "$D/images/empty.png"
: > "$D/labels/empty.txt"
echo "$D/images/empty.png" > "$TMP/nobox.list"
mkdata "$TMP/nobox.data" "$TMP/nobox.list"
expect_fail no_boxes_at_all "$TMP/nobox.list" "hold no boxes" -- timeout 60 "$DN" detector map "$TMP/nobox.data" "$D/net.cfg" "$W"
# classes= not the network's.
sed 's/^classes=4/classes=3/' "$D/set.data" > "$TMP/c3.data"
expect_fail classes_mismatch "$TMP/c3.data" "classes=3" -- timeout 60 "$DN" detector map "$TMP/c3.data" "$D/net.cfg" "$W"
expect_fail missing_weights_file "$TMP/nope.weights" -- timeout 60 "$DN" detector map "$D/set.data" "$D/net.cfg" "$TMP/nope.weights"
expect_fail no_weights_argument "usage" "detector map" -- timeout 60 "$DN" detector map "$D/set.data" "$D/net.cfg"
finish
