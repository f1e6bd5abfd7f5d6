#!/bin/sh
# Test scripts/make-fashion-detection on the real Fashion-MNIST files: a small
# set twice with one seed must be byte-identical, another seed must differ;
# label files, list files, PNG headers and (decoding a few PNGs) the pixels in
# the boxes are checked independently of the script. Run from the repository
# root. Exit 0 = pass, 1 = fail, 77 = skip (no data set or no numpy).
. tests/lib.sh
GEN=scripts/make-fashion-detection
SRC=/usr/share/datasets/fashion-mnist
ROOT=$(pwd)
PNG_TOOLS=$ROOT/tests/tools; export PNG_TOOLS   # tests/tools/png_decode.py
[ -x "$GEN" ] || { echo "FAIL: $GEN missing or not executable (run from the repository root)"; exit 1; }
[ -d "$SRC" ] || { echo "skip: $SRC missing (Debian package dataset-fashion-mnist)"; exit 77; }
/usr/bin/python3 -c 'import numpy' 2>/dev/null || { echo "skip: /usr/bin/python3 has no numpy (Debian package python3-numpy)"; exit 77; }

# -------------------------------------------------------------- helpers
# check.py OUT SIZE K NTRAIN NTEST [PIXEL_IMAGES], run in the folder where the
# set was made with --out OUT: lists, names, label files (class 0..9, boxes in
# [0,1] with positive size, 1..K per image), Darknet's label path for every
# image, PNG IHDR (SIZE x SIZE, 8-bit RGB); the first PIXEL_IMAGES PNGs of each
# split are decoded (zlib + PNG filters) and in every box at least 5% of the
# pixels must lie outside the colour range of the background around the box;
# on solid backgrounds every edge line of a box must show the item (tight box).
cat >"$TMP/check.py" <<'EOF'
"""check.py OUT SIZE K NTRAIN NTEST [PIXEL_IMAGES]: verifies a detection set made
with relative --out OUT from the current folder."""
import collections, os, struct, sys, zlib
sys.path.insert(0, os.environ["PNG_TOOLS"])
from png_decode import decode_png
out, size, k, ntrain, ntest = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
pixel_images = int(sys.argv[6]) if len(sys.argv) > 6 else 6
NAMES = ["tee", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankleboot"]
errors, stats = [], {"boxes": 0, "pixel_boxes": 0, "edge_boxes": 0, "min_frac": 1.0}

def decode_rgb(path):
    w, h, pix = decode_png(path, 3)
    return w, h, [[tuple(pix[3 * (y * w + x):3 * (y * w + x) + 3]) for x in range(w)] for y in range(h)]

def ihdr_size(path):
    d = open(path, "rb").read(33)
    assert d[:8] == b"\x89PNG\r\n\x1a\n" and d[12:16] == b"IHDR", "no PNG/IHDR"
    w, h, depth, ctype = struct.unpack(">IIBB", d[16:26])
    return w, h, depth, ctype

def darknet_label_path(p):  # pjreddie's fill_truth_detection(): first match of each
    for a, b in (("images", "labels"), ("JPEGImages", "labels"), ("raw", "labels"),
                 (".jpg", ".txt"), (".png", ".txt"), (".JPG", ".txt"), (".JPEG", ".txt")):
        i = p.find(a)
        if i >= 0: p = p[:i] + b + p[i + len(a):]
    return p

def parse_labels(path):
    boxes = []
    text = open(path, "rb").read().decode()
    if not text.endswith("\n"): raise ValueError("no final newline")
    for line in text.split("\n")[:-1]:
        f = line.split(" ")
        if len(f) != 5: raise ValueError("line %r: not 5 fields" % line)
        c = int(f[0]); x, y, w, h = map(float, f[1:])
        if not 0 <= c <= 9: raise ValueError("class %d" % c)
        if not (w > 0 and h > 0): raise ValueError("box size %r" % line)
        for v in (x - w / 2, x + w / 2, y - h / 2, y + h / 2):
            if not -1e-6 <= v <= 1 + 1e-6: raise ValueError("box outside [0,1]: %r" % line)
        boxes.append((c, x, y, w, h))
    return boxes

def pixel_box(b):
    c, x, y, w, h = b
    return (int(round((x - w / 2) * size)), int(round((y - h / 2) * size)),
            int(round((x + w / 2) * size)), int(round((y + h / 2) * size)))

def check_pixels(png, boxes):
    """Pixels inside each box must differ from the background around it."""
    w, h, rows = decode_rgb(png)
    pbs = [pixel_box(b) for b in boxes]
    def in_any(x, y, m):
        return any(x0 - m <= x < x1 + m and y0 - m <= y < y1 + m for x0, y0, x1, y1 in pbs)
    # A solid background: >= 90% of pixels away from all boxes share one colour.
    far = [rows[y][x] for y in range(h) for x in range(w) if not in_any(x, y, 3)]
    solid = None
    if far:
        top, n = collections.Counter(far).most_common(1)[0]
        if n >= 0.9 * len(far): solid = top
    for bi, (x0, y0, x1, y1) in enumerate(pbs):
        ring = [rows[y][x] for y in range(max(0, y0 - 4), min(h, y1 + 4))
                for x in range(max(0, x0 - 4), min(w, x1 + 4))
                if not in_any(x, y, 2)]
        if len(ring) < 8:
            continue
        lo = [min(p[ch] for p in ring) - 12 for ch in range(3)]
        hi = [max(p[ch] for p in ring) + 12 for ch in range(3)]
        inside = [rows[y][x] for y in range(y0, y1) for x in range(x0, x1)]
        differ = sum(1 for p in inside if any(p[ch] < lo[ch] or p[ch] > hi[ch] for ch in range(3)))
        frac = differ / len(inside)
        stats["pixel_boxes"] += 1
        stats["min_frac"] = min(stats["min_frac"], frac)
        if frac < 0.05:
            errors.append("%s box %d %r: only %d of %d pixels differ from the background around it"
                          % (png, bi, (x0, y0, x1, y1), differ, len(inside)))
        if solid is not None:  # tight: every edge line of the box shows the item
            stats["edge_boxes"] += 1
            dist = lambda p: sum(abs(p[ch] - solid[ch]) for ch in range(3))
            edges = {"top": [rows[y0][x] for x in range(x0, x1)], "bottom": [rows[y1 - 1][x] for x in range(x0, x1)],
                     "left": [rows[y][x0] for y in range(y0, y1)], "right": [rows[y][x1 - 1] for y in range(y0, y1)]}
            for name, line in edges.items():
                if max(dist(p) for p in line) < 8:
                    errors.append("%s box %d: %s edge shows only background (box not tight)" % (png, bi, name))

counts = {"train": ntrain, "test": ntest}
per_split_classes = {}
for split, n in counts.items():
    want = "".join(os.path.join(out, "images", split, "%05d.png" % i) + "\n" for i in range(n))
    lst = open(os.path.join(out, split + ".list"), "rb").read().decode()
    if lst != want:
        errors.append("%s.list is not the %d expected LF-terminated paths" % (split, n))
    for d, ext in (("images", ".png"), ("labels", ".txt")):
        have = sorted(os.listdir(os.path.join(out, d, split)))
        if have != ["%05d%s" % (i, ext) for i in range(n)]:
            errors.append("%s/%s holds %d files, expected %d" % (d, split, len(have), n))
    classes = set()
    for i in range(n):
        png = os.path.join(out, "images", split, "%05d.png" % i)
        lab = darknet_label_path(png)
        if lab != os.path.join(out, "labels", split, "%05d.txt" % i):
            errors.append("darknet would read the labels of %s from %s" % (png, lab))
        try:
            if ihdr_size(png) != (size, size, 8, 2):
                errors.append("%s: IHDR %r, expected %dx%d 8-bit RGB" % (png, ihdr_size(png), size, size))
            boxes = parse_labels(lab)
        except (OSError, ValueError, AssertionError) as e:
            errors.append("%s: %s" % (png, e)); continue
        if not 1 <= len(boxes) <= k:
            errors.append("%s: %d boxes, expected 1..%d" % (lab, len(boxes), k))
        stats["boxes"] += len(boxes)
        classes.update(b[0] for b in boxes)
        if i < pixel_images:
            try:
                check_pixels(png, boxes)
            except (AssertionError, zlib.error) as e:
                errors.append("%s: %s" % (png, e))
    per_split_classes[split] = sorted(classes)
names = open(os.path.join(out, "fashion-det.names"), "rb").read()
if names != ("\n".join(NAMES) + "\n").encode():
    errors.append("fashion-det.names is %r" % names)
if pixel_images and stats["pixel_boxes"] < 4:
    errors.append("only %d boxes had background around them to compare with" % stats["pixel_boxes"])
print("    %d boxes; %d compared with the background around them (least differing: %.0f%% of the box), "
      "%d checked for tight edges on solid backgrounds; classes %s"
      % (stats["boxes"], stats["pixel_boxes"], 100 * stats["min_frac"], stats["edge_boxes"],
         " / ".join("%s %s" % (s, ",".join(map(str, c))) for s, c in per_split_classes.items())))
for e in errors[:20]:
    print("   ", e)
sys.exit(1 if errors else 0)
EOF

# mksrc.py MODE DIR: a --src folder built from the real files.
#   truncated: the train image file cut short (header says 60000 images)
#   marked:    real images, but every train label is 0 and every test label 9,
#              so the classes in the output show which split an item came from
cat >"$TMP/mksrc.py" <<'EOF'
import gzip, os, struct, sys
mode, d = sys.argv[1], sys.argv[2]
src = "/usr/share/datasets/fashion-mnist"
os.makedirs(d)
for f in sorted(os.listdir(src)):
    os.symlink(os.path.join(src, f), os.path.join(d, f))
def rewrite(name, data):
    os.remove(os.path.join(d, name))
    with gzip.open(os.path.join(d, name), "wb") as f:
        f.write(data)
if mode == "truncated":
    with gzip.open(os.path.join(src, "train-images-idx3-ubyte.gz")) as f:
        rewrite("train-images-idx3-ubyte.gz", f.read(16 + 28 * 28 * 100))
elif mode == "marked":
    for name, label in (("train-labels-idx1-ubyte.gz", 0), ("t10k-labels-idx1-ubyte.gz", 9)):
        with gzip.open(os.path.join(src, name)) as f:
            magic, count = struct.unpack(">II", f.read(8))
        rewrite(name, struct.pack(">II", magic, count) + bytes([label]) * count)
EOF

# gen DIR ARGS...: runs the generator in DIR (created) with relative paths,
# so two runs in different folders must give byte-identical trees.
gen() {
    d=$1; shift
    mkdir -p "$d"
    (cd "$d" && "$ROOT/$GEN" --out det --data det.data --backup bk "$@") >"$TMP/log" 2>&1
}
show_log() { sed 's/^/    | /' "$TMP/log"; }
SMALL="--train 40 --test 10 --size 96 --max-objects 3"

# ---------------------------------------------------------------- good runs
if gen "$TMP/a" $SMALL --seed 7; then ok "40 train + 10 test canvases, 96x96: $(tail -1 "$TMP/log")"; else bad "generator failed (exit $?)"; show_log; fi
if (cd "$TMP/a" && python3 "$TMP/check.py" det 96 3 40 10 8); then
    ok "lists, names, labels, IHDR, Darknet label paths, box pixels"
else
    bad "output check"
fi
printf 'classes=10\ntrain  = det/train.list\nvalid  = det/test.list\nnames  = det/fashion-det.names\nbackup = bk\n' >"$TMP/want.data"
if cmp -s "$TMP/want.data" "$TMP/a/det.data" && [ -d "$TMP/a/bk" ]; then ok "data file content, backup folder created"; else bad "data file or backup folder"; sed 's/^/    | /' "$TMP/a/det.data"; fi

gen "$TMP/b" $SMALL --seed 7 || { bad "second run failed"; show_log; }
if diff -r "$TMP/a" "$TMP/b" >"$TMP/diff" 2>&1; then ok "same seed and flags: byte-identical trees"; else bad "same seed gives different files"; head -5 "$TMP/diff"; fi

gen "$TMP/c" $SMALL --seed 8 || { bad "run with seed 8 failed"; show_log; }
same=0
for f in "$TMP"/a/det/images/*/*.png; do
    cmp -s "$f" "$TMP/c/det/images/${f#"$TMP"/a/det/images/}" && same=$((same+1))
done
if [ $same -eq 0 ] && ! diff -rq "$TMP/a/det/labels" "$TMP/c/det/labels" >/dev/null; then
    ok "another seed: every image and the labels differ"
else
    bad "another seed: $same of 50 images identical"
fi

gen "$TMP/a" $SMALL --seed 7; rc=$?
if [ $rc -eq 0 ] && grep -q "up to date" "$TMP/log"; then ok "rerun says up to date"; else bad "rerun: exit $rc, no 'up to date'"; show_log; fi

# Fewer canvases removes the surplus; growing again restores identical files.
if gen "$TMP/a" --train 20 --test 10 --size 96 --max-objects 3 --seed 7 &&
   [ ! -e "$TMP/a/det/images/train/00020.png" ] &&
   (cd "$TMP/a" && python3 "$TMP/check.py" det 96 3 20 10 0); then
    ok "--train 20 leaves 20 train canvases"
else
    bad "--train 20"; show_log
fi
if gen "$TMP/a" $SMALL --seed 7 && diff -r "$TMP/a" "$TMP/b" >/dev/null; then
    ok "back to --train 40: byte-identical to the first run again"
else
    bad "regrown set differs"
fi

# Default size and object count.
if gen "$TMP/d" --train 12 --test 4 && (cd "$TMP/d" && python3 "$TMP/check.py" det 128 4 12 4 2); then
    ok "defaults: 128x128, up to 4 boxes"
else
    bad "default size/objects"; show_log
fi

# Items of train canvases come from the train split, of test canvases from the test split.
python3 "$TMP/mksrc.py" marked "$TMP/src-marked" || { echo "FAIL: cannot build fixture"; exit 1; }
gen "$TMP/m" --src "$TMP/src-marked" --train 30 --test 30 || { bad "marked run failed"; show_log; }
tr=$(cut -d' ' -f1 "$TMP"/m/det/labels/train/*.txt | sort -u | tr '\n' ' ')
te=$(cut -d' ' -f1 "$TMP"/m/det/labels/test/*.txt | sort -u | tr '\n' ' ')
if [ "$tr" = "0 " ] && [ "$te" = "9 " ]; then ok "splits kept apart (train classes: $tr, test classes: $te)"; else bad "splits mixed: train classes '$tr', test classes '$te'"; fi

# Darknet itself reads the set: 2 batches of a tiny YOLO net (when built).
if [ -x ./darknet ]; then
    cat >"$TMP/tiny.cfg" <<'EOF'
[net]
batch=8
subdivisions=1
width=96
height=96
channels=3
learning_rate=0.001
max_batches=2
policy=constant

[convolutional]
filters=8
size=3
stride=4
pad=1
activation=leaky

[convolutional]
filters=45
size=3
stride=4
pad=1
activation=linear

[yolo]
mask=0,1,2
anchors=20,24,32,40,50,56
classes=10
num=3
jitter=0
random=0
EOF
    (cd "$TMP/a" && timeout 120 "$ROOT/darknet" detector train det.data "$TMP/tiny.cfg") >"$TMP/log" 2>&1
    counts=$(sed -n 's/.*count: \([0-9]*\).*/\1/p' "$TMP/log" | tr '\n' ' ')
    if [ -n "$counts" ] && ! echo " $counts" | grep -q ' 0 ' && ! grep -q "Couldn't open" "$TMP/log"; then
        ok "darknet detector train reads images and labels (boxes per batch: $counts)"
    else
        bad "darknet detector train on the set"; tail -5 "$TMP/log" | sed 's/^/    | /'
    fi
else
    echo "# ./darknet not built; darknet detector train check skipped"
fi

# ---------------------------------------------------------------- errors
python3 "$TMP/mksrc.py" truncated "$TMP/src-trunc" || { echo "FAIL: cannot build fixture"; exit 1; }
mkdir -p "$TMP/e"
cd "$TMP/e" || exit 1
expect_fail "missing source folder is refused" "$TMP/nowhere/train-images-idx3-ubyte.gz" "not found" -- \
    "$ROOT/$GEN" --src "$TMP/nowhere" --out e1 --data e1.data --backup bk --train 2 --test 2
expect_fail "truncated image file is refused" "$TMP/src-trunc/train-images-idx3-ubyte.gz" "truncated" -- \
    "$ROOT/$GEN" --src "$TMP/src-trunc" --out e2 --data e2.data --backup bk --train 2 --test 2
expect_fail "--out where Darknet would not find the labels is refused" "drawings/det" "choose another --out" -- \
    "$ROOT/$GEN" --out drawings/det --data e3.data --backup bk --train 2 --test 2
expect_fail "--size below 32 is refused" "--size" -- \
    "$ROOT/$GEN" --out e4 --data e4.data --backup bk --size 20
if ls e1/.complete e2/.complete drawings/det/.complete e4/.complete >/dev/null 2>&1; then bad ".complete left by a failed run"; else ok "no .complete after failed runs"; fi
cd "$ROOT" || exit 1

finish
