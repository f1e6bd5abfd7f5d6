#!/bin/sh
# Test scripts/fashion-mnist-to-darknet on tiny synthetic IDX files (the real
# Fashion-MNIST data set is not needed). Run from the repository root.
# Exit 0 = pass, 1 = fail, 77 = skip (no python3).
set -u
CONV=scripts/fashion-mnist-to-darknet
[ -x "$CONV" ] || { echo "FAIL: $CONV missing or not executable (run from the repository root)"; exit 1; }
command -v python3 >/dev/null 2>&1 || { echo "skip: python3 not found"; exit 77; }
ROOT=$(pwd)
PNG_TOOLS=$ROOT/tests/tools; export PNG_TOOLS   # tests/tools/png_decode.py
LABELS="tee trouser pullover dress coat sandal shirt sneaker bag ankleboot"

# A temp folder whose path contains no label name (the converter refuses such
# output paths, and mktemp's random letters could spell e.g. "bag").
has_label() {
    for l in $LABELS; do
        case "$1" in *"$l"*) return 0;; esac
    done
    return 1
}
T=
for base in "${TMPDIR:-/tmp}" /tmp; do
    for try in 1 2 3 4 5 6 7 8 9 10; do
        d=$(mktemp -d "$base/fmconv.XXXXXX") || break
        if has_label "$d"; then rmdir "$d"; else T=$d; break 2; fi
    done
done
[ -n "$T" ] || { echo "skip: could not make a temp folder free of label names"; exit 77; }
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP

fails=0
ok()   { echo "ok - $*"; }
bad()  { echo "FAIL - $*"; fails=$((fails+1)); }
check() { # description, command...
    d=$1; shift
    if "$@"; then ok "$d"; else bad "$d"; fi
}

# ---------------------------------------------------------------- fixtures
# gen.py DIR [variant]: writes the four gzipped IDX files into DIR.
# 5 train images (labels 9 0 3 8 4) and 3 test images (labels 1 5 7), 28x28,
# pixel (n, r, c) = (n*37 + r*28 + c*3) % 256 (+128 for the test set), so
# every byte value 0..255 occurs and every image differs.
cat >"$T/gen.py" <<'EOF'
import gzip, os, struct, sys
TRAIN_LABELS = [9, 0, 3, 8, 4]
TEST_LABELS = [1, 5, 7]
R = C = 28
def pixels(n, off):
    return bytes((n * 37 + r * 28 + c * 3 + off) % 256 for r in range(R) for c in range(C))
def images(labels, off):
    return b"".join(pixels(n, off) for n in range(len(labels)))
def idx3(labels, off, magic=0x803, count=None, cut=0):
    body = images(labels, off)
    if cut:
        body = body[:-cut]
    return struct.pack(">IIII", magic, len(labels) if count is None else count, R, C) + body
def idx1(labels, magic=0x801):
    return struct.pack(">II", magic, len(labels)) + bytes(labels)
if __name__ == "__main__":
    d = sys.argv[1]
    variant = sys.argv[2] if len(sys.argv) > 2 else "good"
    os.makedirs(d, exist_ok=True)
    files = {
        "train-images-idx3-ubyte": idx3(TRAIN_LABELS, 0),
        "train-labels-idx1-ubyte": idx1(TRAIN_LABELS),
        "t10k-images-idx3-ubyte": idx3(TEST_LABELS, 128),
        "t10k-labels-idx1-ubyte": idx1(TEST_LABELS),
    }
    if variant == "truncated":      # header says 5 images, data holds 4.5
        files["train-images-idx3-ubyte"] = idx3(TRAIN_LABELS, 0, cut=R * C // 2)
    elif variant == "badmagic":     # label file with an image magic number
        files["t10k-labels-idx1-ubyte"] = idx1(TEST_LABELS, magic=0x803)
    elif variant == "badlabel":     # label 10 is outside 0..9
        files["train-labels-idx1-ubyte"] = idx1([9, 0, 10, 8, 4])
    elif variant == "mismatch":     # 5 images but 4 labels
        files["train-labels-idx1-ubyte"] = idx1([9, 0, 3, 8])
    for name, data in files.items():
        if variant == "raw":
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        else:
            with gzip.open(os.path.join(d, name + ".gz"), "wb") as f:
                f.write(data)
    if variant == "gzcut":          # gzip stream cut short
        p = os.path.join(d, "train-images-idx3-ubyte.gz")
        with open(p, "rb") as f:
            data = f.read()
        with open(p, "wb") as f:
            f.write(data[:len(data) // 2])
EOF

# check.py OUT LISTPREFIX: verifies names, lists, labels.txt and decodes every
# PNG independently (chunk CRCs, IHDR, inflate IDAT, undo filters) comparing
# the pixels to the bytes gen.py wrote.
cat >"$T/check.py" <<'EOF'
import os, struct, sys, zlib
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.environ["PNG_TOOLS"])
import gen
from png_decode import decode_png
NAMES = ["tee", "trouser", "pullover", "dress", "coat", "sandal", "shirt",
         "sneaker", "bag", "ankleboot"]
out, prefix = sys.argv[1], sys.argv[2]
limit_train = int(sys.argv[3]) if len(sys.argv) > 3 else None
errors = []

sets = [("train", gen.TRAIN_LABELS, 0), ("test", gen.TEST_LABELS, 128)]
for name, labels, off in sets:
    if name == "train" and limit_train is not None:
        labels = labels[:limit_train]
    want = ["%05d_%s.png" % (i, NAMES[l]) for i, l in enumerate(labels)]
    have = sorted(os.listdir(os.path.join(out, name)))
    if have != want:
        errors.append("%s/ holds %s, expected %s" % (name, have, want))
    lst = open(os.path.join(out, name + ".list"), "rb").read()
    want_list = "".join(os.path.join(prefix, name, f) + "\n" for f in want).encode()
    if lst != want_list:
        errors.append("%s.list is %r, expected %r" % (name, lst, want_list))
    for i, f in enumerate(want):
        p = os.path.join(out, name, f)
        if not os.path.exists(p):
            continue
        try:
            w, h, pix = decode_png(p, 1)
        except Exception as e:
            errors.append("%s: %s" % (p, e)); continue
        if (w, h) != (28, 28) or pix != gen.pixels(i, off):
            errors.append("%s: pixels differ from the IDX input" % p)
labels_txt = open(os.path.join(out, "labels.txt"), "rb").read()
if labels_txt != ("\n".join(NAMES) + "\n").encode():
    errors.append("labels.txt is %r" % labels_txt)
for e in errors:
    print("   ", e)
sys.exit(1 if errors else 0)
EOF

run_conv() { # stdout+stderr to $T/log, returns the exit code
    "$ROOT/$CONV" "$@" >"$T/log" 2>&1
}
show_log() { sed 's/^/    | /' "$T/log"; }
expect_fail() { # description, file the message must name, converter args...
    d=$1; f=$2; shift 2
    run_conv "$@"; rc=$?
    if [ $rc -eq 1 ] && grep -qF "$f" "$T/log"; then
        ok "$d (exit 1: $(head -1 "$T/log"))"
    else
        bad "$d: expected exit 1 and a message naming $f, got exit $rc"; show_log
    fi
}

for v in good raw truncated gzcut badmagic badlabel mismatch; do
    python3 "$T/gen.py" "$T/src-$v" "$v" || { echo "FAIL: could not write IDX fixtures"; exit 1; }
done
SRC=$T/src-good
OUT=$T/out/fashion
DATA=$T/cfg/fashion.data

# ---------------------------------------------------------------- good run
echo "# converting 5 train + 3 test synthetic images"
if run_conv --src "$SRC" --out "$OUT" --data-file "$DATA"; then
    ok "conversion exits 0"
else
    bad "conversion failed (exit $?)"; show_log
fi
check "image names carry the given labels, lists (LF) and labels.txt exact, PNG pixels decode back exactly" \
    python3 "$T/check.py" "$OUT" "$OUT"
printf 'classes=10\ntrain  = %s/train.list\nvalid  = %s/test.list\nlabels = %s/labels.txt\nbackup = backup/\ntop=2\n' \
    "$OUT" "$OUT" "$OUT" >"$T/want.data"
check "data file content" cmp -s "$T/want.data" "$DATA"
[ -f "$DATA" ] && sed 's/^/    | /' "$DATA"
check ".complete written" test -f "$OUT/.complete"

run_conv --src "$SRC" --out "$OUT" --data-file "$DATA"; rc=$?
if [ $rc -eq 0 ] && grep -q "up to date" "$T/log"; then
    ok "second run says up to date"
else
    bad "second run: exit $rc, no 'up to date'"; show_log
fi

# A different limit reconverts and removes the images no longer wanted.
run_conv --src "$SRC" --out "$OUT" --data-file "$DATA" --limit-train 2; rc=$?
if [ $rc -eq 0 ] && ! grep -q "up to date" "$T/log"; then
    ok "--limit-train 2 reconverts"
else
    bad "--limit-train 2: exit $rc"; show_log
fi
check "--limit-train 2 leaves exactly 2 train images and list lines" \
    python3 "$T/check.py" "$OUT" "$OUT" 2

# Relative --out: list paths are relative too.
mkdir -p "$T/rel"
if (cd "$T/rel" && "$ROOT/$CONV" --src "$SRC" --out data/fashion --data-file cfg/fashion.data) >"$T/log" 2>&1 &&
   python3 "$T/check.py" "$T/rel/data/fashion" data/fashion &&
   grep -qx 'train  = data/fashion/train.list' "$T/rel/cfg/fashion.data"; then
    ok "relative --out gives relative paths in lists and data file"
else
    bad "relative --out"; show_log
fi

# Uncompressed sources (no .gz present).
if run_conv --src "$T/src-raw" --out "$T/out-raw/fashion" --data-file "$T/out-raw/f.data" &&
   python3 "$T/check.py" "$T/out-raw/fashion" "$T/out-raw/fashion"; then
    ok "uncompressed IDX files are accepted"
else
    bad "uncompressed IDX files"; show_log
fi

# ---------------------------------------------------------------- errors
expect_fail "truncated image file is refused" "$T/src-truncated/train-images-idx3-ubyte.gz" \
    --src "$T/src-truncated" --out "$T/out-e1/fashion" --data-file "$T/out-e1/f.data"
expect_fail "truncated gzip stream is refused" "$T/src-gzcut/train-images-idx3-ubyte.gz" \
    --src "$T/src-gzcut" --out "$T/out-e2/fashion" --data-file "$T/out-e2/f.data"
expect_fail "bad magic number is refused" "$T/src-badmagic/t10k-labels-idx1-ubyte.gz" \
    --src "$T/src-badmagic" --out "$T/out-e3/fashion" --data-file "$T/out-e3/f.data"
expect_fail "label outside 0..9 is refused" "$T/src-badlabel/train-labels-idx1-ubyte.gz" \
    --src "$T/src-badlabel" --out "$T/out-e4/fashion" --data-file "$T/out-e4/f.data"
expect_fail "image/label count mismatch is refused" "$T/src-mismatch/train-labels-idx1-ubyte.gz" \
    --src "$T/src-mismatch" --out "$T/out-e5/fashion" --data-file "$T/out-e5/f.data"
expect_fail "missing source folder is refused" "$T/nowhere/train-images-idx3-ubyte.gz" \
    --src "$T/nowhere" --out "$T/out-e6/fashion" --data-file "$T/out-e6/f.data"
check "no .complete after failed runs" sh -c "! ls '$T'/out-e*/fashion/.complete 2>/dev/null | grep -q ."
expect_fail "output path containing a label (coatrack) is refused" "coat" \
    --src "$SRC" --out "$T/coatrack/fashion" --data-file "$T/coatrack.data"
check "nothing written for the refused output path" test ! -e "$T/coatrack"
(cd "$T/rel" && "$ROOT/$CONV" --src "$SRC" --out handbags --data-file x.data) >"$T/log" 2>&1; rc=$?
if [ $rc -eq 1 ] && grep -q "bag" "$T/log"; then
    ok "relative output path containing a label (handbags) is refused"
else
    bad "relative --out handbags: exit $rc"; show_log
fi

if [ -x ./darknet ]; then
    echo "# ./darknet present; loading a PNG through darknet is skipped (classifier predict is too heavy)"
fi

if [ $fails -eq 0 ]; then
    echo "all checks passed"; exit 0
fi
echo "$fails check(s) failed"; exit 1
