#!/bin/sh
# scripts/prepare-cifar on small archives written in the exact CIFAR-10 and
# CIFAR-100 binary formats (record layout, label bytes, planar RGB pixels,
# label-name files, tar.gz member names): file names carry the right
# collision-free labels (coarse and fine for CIFAR-100), pixels come out in
# the right place, malformed input is refused, and Darknet trains on the result.
. tests/lib.sh
PY=/usr/bin/python3
[ -x "$PY" ] || { echo "no /usr/bin/python3"; exit 77; }

# Writes $TMP/src/cifar-10-binary.tar.gz and cifar-100-binary.tar.gz.
# Record i of a file has labels from a fixed formula and pixels
# R[k] = (i*7 + k) % 256, G[k] = (k*3 + 1) % 256, B[k] = 255 - R[k].
$PY - "$TMP/src" <<'PY' || { echo "cannot write the test archives"; exit 1; }
import io, os, sys, tarfile
out = sys.argv[1]; os.makedirs(out)
C10 = "airplane automobile bird cat deer dog frog horse ship truck".split()
FINE = ("apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus butterfly camel "
        "can castle caterpillar cattle chair chimpanzee clock cloud cockroach couch crab crocodile cup dinosaur "
        "dolphin elephant flatfish forest fox girl hamster house kangaroo keyboard lamp lawn_mower leopard lion "
        "lizard lobster man maple_tree motorcycle mountain mouse mushroom oak_tree orange orchid otter palm_tree "
        "pear pickup_truck pine_tree plain plate poppy porcupine possum rabbit raccoon ray road rocket rose sea "
        "seal shark shrew skunk skyscraper snail snake spider squirrel streetcar sunflower sweet_pepper table "
        "tank telephone television tiger tractor train trout tulip turtle wardrobe whale willow_tree wolf woman "
        "worm").split()
COARSE = ("aquatic_mammals fish flowers food_containers fruit_and_vegetables household_electrical_devices "
          "household_furniture insects large_carnivores large_man-made_outdoor_things large_natural_outdoor_scenes "
          "large_omnivores_and_herbivores medium_mammals non-insect_invertebrates people reptiles small_mammals "
          "trees vehicles_1 vehicles_2").split()
assert len(FINE) == 100 and len(COARSE) == 20
def pixels(i):
    r = bytes((i * 7 + k) % 256 for k in range(1024))
    g = bytes((k * 3 + 1) % 256 for k in range(1024))
    b = bytes(255 - x for x in r)
    return r + g + b
def tar(path, members):
    with tarfile.open(path, "w:gz") as t:
        for name, data in members:
            ti = tarfile.TarInfo(name); ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
m = []
for f, n in [("data_batch_%d.bin" % b, 3) for b in range(1, 6)] + [("test_batch.bin", 4)]:
    base = 0 if f == "test_batch.bin" else 3 * (int(f[11]) - 1)
    m.append(("cifar-10-batches-bin/" + f,
              b"".join(bytes([(base + i) % 10]) + pixels(base + i) for i in range(n))))
m.append(("cifar-10-batches-bin/batches.meta.txt", ("\n".join(C10) + "\n\n").encode()))
m.append(("cifar-10-batches-bin/readme.html", b"<html></html>"))
tar(os.path.join(out, "cifar-10-binary.tar.gz"), m)
# CIFAR-100: the fine/coarse pairs that collide without renaming, and plain ones.
FC = [("man", "people"), ("woman", "people"), ("bee", "insects"), ("beetle", "insects"), ("sea", "large_natural_outdoor_scenes"),
      ("seal", "aquatic_mammals"), ("table", "household_furniture"), ("train", "vehicles_1"), ("cup", "food_containers"),
      ("porcupine", "medium_mammals"), ("aquarium_fish", "fish"), ("house", "large_man-made_outdoor_things"),
      ("maple_tree", "trees"), ("lamp", "household_electrical_devices"), ("worm", "non-insect_invertebrates")]
def rec100(i, fc):
    f, c = fc
    return bytes([COARSE.index(c), FINE.index(f)]) + pixels(i)
tr = b"".join(rec100(i, fc) for i, fc in enumerate(FC))
te = b"".join(rec100(i, fc) for i, fc in enumerate(FC[:5]))
tar(os.path.join(out, "cifar-100-binary.tar.gz"), [
    ("cifar-100-binary/coarse_label_names.txt", ("\n".join(COARSE) + "\n").encode()),
    ("cifar-100-binary/fine_label_names.txt", ("\n".join(FINE) + "\n").encode()),
    ("cifar-100-binary/train.bin", tr), ("cifar-100-binary/test.bin", te)])
open(os.path.join(out, "expected100.txt"), "w").write("\n".join("%s %s" % fc for fc in FC) + "\n")
# Malformed: a CIFAR-10 batch cut mid-record; a fine label byte out of range.
m2 = [(n, d[:-5] if n.endswith("data_batch_2.bin") else d) for n, d in m]
tar(os.path.join(out, "cut.tar.gz"), m2)
bad = bytearray(tr); bad[1] = 100
tar(os.path.join(out, "badlabel.tar.gz"), [
    ("cifar-100-binary/coarse_label_names.txt", ("\n".join(COARSE) + "\n").encode()),
    ("cifar-100-binary/fine_label_names.txt", ("\n".join(FINE) + "\n").encode()),
    ("cifar-100-binary/train.bin", bytes(bad)), ("cifar-100-binary/test.bin", te)])
# Label names that collide whatever the renames.
tar(os.path.join(out, "collide.tar.gz"), [(n, d) if not n.endswith("meta.txt") else
    (n, ("\n".join(C10[:9] + ["cats"]) + "\n").encode()) for n, d in m])
PY

OUT="$TMP/data"; DD="$TMP/cfg"
if scripts/prepare-cifar --out "$OUT" --data-dir "$DD" "$TMP/src/cifar-10-binary.tar.gz" "$TMP/src/cifar-100-binary.tar.gz" >"$TMP/conv.out" 2>&1; then
    ok "converts both archives ($(tr '\n' ' ' <"$TMP/conv.out"))"
else
    bad "conversion failed: $(cat "$TMP/conv.out")"; finish
fi

# Everything checked in one Python pass; it prints ok/FAIL lines.
$PY - "$OUT" "$DD" "$TMP/src/expected100.txt" >"$TMP/check.out" 2>&1 <<'PY'
import os, re, struct, sys, zlib
out, dd, exp = sys.argv[1:4]
C10 = "airplane automobile bird cat deer dog frog horse ship truck".split()
def ok(c, msg): print(("ok - " if c else "FAIL - ") + msg)
def png(path):
    b = open(path, "rb").read()
    assert b[:8] == b"\x89PNG\r\n\x1a\n"
    i, idat, ihdr = 8, b"", None
    while i < len(b):
        n, = struct.unpack(">I", b[i:i+4]); kind = b[i+4:i+8]; data = b[i+8:i+8+n]
        assert zlib.crc32(kind + data) & 0xffffffff == struct.unpack(">I", b[i+8+n:i+12+n])[0]
        if kind == b"IHDR": ihdr = struct.unpack(">IIBBBBB", data)
        if kind == b"IDAT": idat += data
        i += 12 + n
    raw = zlib.decompress(idat)
    assert ihdr[:4] == (32, 32, 8, 2) and len(raw) == 32 * 97 and all(raw[r * 97] == 0 for r in range(32))
    return b"".join(raw[r * 97 + 1:(r + 1) * 97] for r in range(32))
def expect_pixels(i, px):
    return (all(px[3*k] == (i * 7 + k) % 256 and px[3*k+1] == (k * 3 + 1) % 256 and px[3*k+2] == 255 - (i * 7 + k) % 256
                for k in range(1024)))
def labels_of(path, labels):
    toks = re.split(r"[_\-. ]", os.path.basename(path))
    by_token = [l for l in labels if l in toks]
    by_substring = [l for l in labels if l in path]     # upstream's rule
    return by_token, by_substring
# CIFAR-10
d = os.path.join(out, "cifar10")
labels = open(os.path.join(d, "labels.txt")).read().split()
ok(labels == C10, "CIFAR-10 labels.txt: the 10 names in class order")
tr = open(os.path.join(d, "train.list")).read().split()
te = open(os.path.join(d, "test.list")).read().split()
ok(len(tr) == 15 and len(te) == 4, "CIFAR-10: 15 train (5 batches x 3), 4 test images listed (%d, %d)" % (len(tr), len(te)))
good = True
for split, paths in (("train", tr), ("test", te)):
    for i, p in enumerate(paths):
        want = C10[i % 10]
        t, s = labels_of(p, labels)
        good &= os.path.basename(p) == "%05d_%s.png" % (i, want) and t == [want] and s == [want]
        good &= expect_pixels(i, png(p))
ok(good, "CIFAR-10: names NNNNN_label.png in record order (batches 1..5), one label by token and by substring, pixels R,G,B planes -> RGB")
df = open(os.path.join(dd, "cifar10.data")).read()
ok("classes=10" in df and "cifar10/train.list" in df and "cifar10/test.list" in df and "labels.txt" in df,
   "cifar10.data: classes, train, valid, labels")
# CIFAR-100
d = os.path.join(out, "cifar100")
fine = open(os.path.join(d, "labels-fine.txt")).read().split()
coarse = open(os.path.join(d, "labels-coarse.txt")).read().split()
ok(len(fine) == 100 and len(coarse) == 20, "CIFAR-100: 100 fine and 20 coarse label names")
ok(all(re.fullmatch(r"[a-z0-9]+", n) for n in fine + coarse), "CIFAR-100: names are [a-z0-9]+ (no token separators)")
alln = fine + coarse
coll = [(a, b) for a in alln for b in alln if a != b and a in b]
ok(not coll and len(set(alln)) == 120, "CIFAR-100: no label inside another, fine or coarse (%s)" % coll[:3])
ok(fine[46] == "adultman" and fine[98] == "woman" and fine[6] == "honeybee" and coarse[1] == "fishes" and fine[90] == "railtrain",
   "CIFAR-100: renames keep class order (man -> adultman at 46, train -> railtrain at 90, fish -> fishes)")
fc = [l.split() for l in open(exp).read().splitlines()]
tr = open(os.path.join(d, "train.list")).read().split()
te = open(os.path.join(d, "test.list")).read().split()
ok(len(tr) == 15 and len(te) == 5, "CIFAR-100: 15 train, 5 test images")
good = True
for paths in (tr, te):
    for i, p in enumerate(paths):
        f, c = fc[i]
        ft, fs = labels_of(p, fine)
        ct, cs = labels_of(p, coarse)
        good &= len(ft) == 1 and ft == fs and len(ct) == 1 and ct == cs and expect_pixels(i, png(p))
        if not good:
            print("    %s: fine %s/%s coarse %s/%s" % (p, ft, fs, ct, cs)); break
ok(good, "CIFAR-100: every image carries exactly one fine and one coarse label (token rule and upstream substring rule agree)")
# The right ones: map back through the official names.
offf = ("apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus butterfly camel "
        "can castle caterpillar cattle chair chimpanzee clock cloud cockroach couch crab crocodile cup dinosaur "
        "dolphin elephant flatfish forest fox girl hamster house kangaroo keyboard lamp lawn_mower leopard lion "
        "lizard lobster man maple_tree motorcycle mountain mouse mushroom oak_tree orange orchid otter palm_tree "
        "pear pickup_truck pine_tree plain plate poppy porcupine possum rabbit raccoon ray road rocket rose sea "
        "seal shark shrew skunk skyscraper snail snake spider squirrel streetcar sunflower sweet_pepper table "
        "tank telephone television tiger tractor train trout tulip turtle wardrobe whale willow_tree wolf woman "
        "worm").split()
offc = ("aquatic_mammals fish flowers food_containers fruit_and_vegetables household_electrical_devices "
        "household_furniture insects large_carnivores large_man-made_outdoor_things large_natural_outdoor_scenes "
        "large_omnivores_and_herbivores medium_mammals non-insect_invertebrates people reptiles small_mammals "
        "trees vehicles_1 vehicles_2").split()
right = all(offf[fine.index(labels_of(p, fine)[0][0])] == fc[i][0] and offc[coarse.index(labels_of(p, coarse)[0][0])] == fc[i][1]
            for i, p in enumerate(tr))
ok(right, "CIFAR-100: the fine and coarse labels in each name are the record's (coarse byte first, then fine)")
a = open(os.path.join(dd, "cifar100.data")).read(); b = open(os.path.join(dd, "cifar100-coarse.data")).read()
ok("classes=100" in a and "labels-fine.txt" in a and "classes=20" in b and "labels-coarse.txt" in b
   and "cifar100/train.list" in a and "cifar100/train.list" in b, "cifar100.data (fine) and cifar100-coarse.data share the images")
PY
cat "$TMP/check.out"
n_fail=$(grep -c '^FAIL' "$TMP/check.out"); n_ok=$(grep -c '^ok' "$TMP/check.out")
[ "$n_fail" -eq 0 ] && [ "$n_ok" -ge 10 ] || bad "converter output checks ($n_fail failed, $n_ok passed)"

expect_fail "a batch cut mid-record is refused" "data_batch_2.bin" "not a whole number of 3073-byte records" -- \
    scripts/prepare-cifar --out "$TMP/o2" --data-dir "$TMP/d2" "$TMP/src/cut.tar.gz"
expect_fail "a label byte beyond the names is refused" "label byte 1 = 100" "only 100 names" -- \
    scripts/prepare-cifar --out "$TMP/o3" --data-dir "$TMP/d3" "$TMP/src/badlabel.tar.gz"
expect_fail "colliding label names are refused" "'cat' is inside 'cats'" -- \
    scripts/prepare-cifar --out "$TMP/o4" --data-dir "$TMP/d4" "$TMP/src/collide.tar.gz"
expect_fail "a label inside the output path is refused" "'frog' is inside the path" -- \
    scripts/prepare-cifar --out "$TMP/frogs" --data-dir "$TMP/d5" "$TMP/src/cifar-10-binary.tar.gz"
expect_fail "a file that is no archive is refused" "not a readable tar archive" -- \
    scripts/prepare-cifar --out "$TMP/o6" --data-dir "$TMP/d6" "$TMP/src/expected100.txt"
(cd "$TMP/src" && tar -czf other.tar.gz expected100.txt)
expect_fail "an archive of something else is refused" "neither the CIFAR-10 nor the CIFAR-100" -- \
    scripts/prepare-cifar --out "$TMP/o6" --data-dir "$TMP/d6" "$TMP/src/other.tar.gz"

# Extracted folders work like archives; --limit-train/--limit-test cut.
mkdir -p "$TMP/x" && tar -xzf "$TMP/src/cifar-100-binary.tar.gz" -C "$TMP/x"
if scripts/prepare-cifar --out "$TMP/o7" --data-dir "$TMP/d7" --limit-train 4 --limit-test 2 "$TMP/x/cifar-100-binary" >/dev/null 2>&1 &&
   [ "$(wc -l <"$TMP/o7/cifar100/train.list")" -eq 4 ] && [ "$(wc -l <"$TMP/o7/cifar100/test.list")" -eq 2 ]; then
    ok "an extracted folder converts; limits respected"
else bad "extracted folder / limits"; fi

# Darknet reads the PNGs: cfg/cifar-alig.cfg and cfg/cifar-steps.cfg, cut to
# 3 iterations of 8, train on the converted CIFAR-10 (and the CIFAR-100
# variant with filters=100 on cifar100.data).
if [ -x ./darknet ]; then
    sed -i "s|^backup.*|backup = $TMP|" "$DD/cifar10.data" "$DD/cifar100.data"
    for c in alig steps alig100; do
        f=cfg/cifar-${c%100}.cfg; d=$DD/cifar10.data
        sed 's/^batch=128/batch=8/; s/^max_batches=.*/max_batches=3/; s/^bn_recalibrate=.*/bn_recalibrate=2/' "$f" >"$TMP/$c.cfg"
        if [ "$c" = alig100 ]; then
            d=$DD/cifar100.data
            sed -i 's/^filters=10$/filters=100/' "$TMP/$c.cfg"
        fi
        if ./darknet classifier train "$d" "$TMP/$c.cfg" -log "$TMP/$c.csv" >"$TMP/t.out" 2>&1 &&
           [ "$(wc -l <"$TMP/$c.csv")" -eq 4 ] && [ -f "$TMP/$c.weights" ] &&
           ./darknet classifier valid "$d" "$TMP/$c.cfg" "$TMP/$c.weights" 2>/dev/null | tail -1 | grep -q "top 1:"; then
            ok "darknet trains $f ($c) 3 iterations on the converted data and evaluates"
        else bad "darknet with $f ($c): $(tail -3 "$TMP/t.out")"; fi
    done
fi
finish
