#!/bin/sh
# Bad training data (issue 6): CRLF list files train; a truncated PNG, an
# empty list and a cfg without max_batches stop with a message naming the
# file and a non-zero exit (patches 0200, 0202, 0203).
. tests/lib.sh
DN=${DARKNET:-./darknet}
fashion_small
TRAIN=$FASHION/train.list
mkdata() { # name list
    sed "s|^train.*|train = $2|" "$FASHION.data" > "$TMP/$1.data"
}
small_cfg "$TMP/net.cfg" ""
sed -i 's/batch=32/batch=8/; s/max_batches=40/max_batches=3/' "$TMP/net.cfg"

# CRLF list (and CRLF labels): training runs and loads every image.
head -40 "$TRAIN" | sed 's/$/\r/' > "$TMP/crlf.list"
sed 's/$/\r/' "$FASHION/labels.txt" > "$TMP/labels.txt"
mkdata crlf "$TMP/crlf.list"
sed -i "s|^labels.*|labels = $TMP/labels.txt|" "$TMP/crlf.data"
if timeout 120 "$DN" classifier train "$TMP/crlf.data" "$TMP/net.cfg" >"$TMP/out" 2>&1 && [ -s "$TMP/backup/net.weights" ] \
   && ! grep -q "Cannot load image" "$TMP/out"; then
    ok "CRLF list and labels: trained $(grep -c ' images$' "$TMP/out") iterations, weights saved"
else
    bad "CRLF list: training failed"; tail -5 "$TMP/out"
fi
# The labels must still be found in the paths (a "\r" would match nothing).
cat > "$TMP/lbl.c" <<'C'
#include "darknet.h"
#include <stdio.h>
int main(int argc, char **argv){ char **l = get_labels(argv[1]); int i; for(i = 0; i < 10; ++i) if(strchr(l[i], '\r')) return 1; return 0; }
C
LIB=${DARKNET_LIB:-libdarknet.a}
if gcc -std=gnu99 -Iinclude -o "$TMP/lbl" "$TMP/lbl.c" "$LIB" -lm -pthread $(nm "$LIB" 2>/dev/null | grep -q 'U cblas_sgemm' && echo -lopenblas) 2>/dev/null; then
    "$TMP/lbl" "$TMP/labels.txt" && ok "CRLF labels read without CR" || bad "CRLF labels keep their CR"
else bad "cannot build the label reader"; fi

# A PNG truncated to 40 bytes in the list: names the file, exits non-zero, does not hang.
head -c 40 "$(head -1 "$TRAIN")" > "$TMP/trunc.png"
{ head -1 "$TRAIN"; echo "$TMP/trunc.png"; } > "$TMP/trunc.list"    # 24 random draws: it is picked
mkdata trunc "$TMP/trunc.list"
expect_fail truncated_png "Cannot load image \"$TMP/trunc.png\"" -- timeout 60 "$DN" classifier train "$TMP/trunc.data" "$TMP/net.cfg"
[ "$rc" -ne 124 ] || bad "truncated_png: hung (timeout)"

# An empty train list (and one of blank lines only).
: > "$TMP/empty.list"
mkdata empty "$TMP/empty.list"
expect_fail empty_list "$TMP/empty.list" "has no images" -- timeout 60 "$DN" classifier train "$TMP/empty.data" "$TMP/net.cfg"
printf '\n\r\n\n' > "$TMP/blank.list"
mkdata blank "$TMP/blank.list"
expect_fail blank_list "$TMP/blank.list" "has no images" -- timeout 60 "$DN" classifier train "$TMP/blank.data" "$TMP/net.cfg"
mkdata missing "$TMP/nope.list"
expect_fail missing_list "Couldn't open file: $TMP/nope.list" -- timeout 60 "$DN" classifier train "$TMP/missing.data" "$TMP/net.cfg"

# Fewer labels than classes, or classes= not the network's outputs (0209).
head -3 "$FASHION/labels.txt" > "$TMP/labels3.txt"
sed "s|^labels.*|labels = $TMP/labels3.txt|" "$FASHION.data" > "$TMP/l3.data"
expect_fail too_few_labels "$TMP/labels3.txt" "3 labels but classes=10" -- timeout 60 "$DN" classifier train "$TMP/l3.data" "$TMP/net.cfg"
sed "s|^classes.*|classes=12|" "$FASHION.data" > "$TMP/c12.data"
expect_fail classes_vs_outputs "$TMP/c12.data" "classes=12 but the network" "has 10 outputs" -- timeout 60 "$DN" classifier train "$TMP/c12.data" "$TMP/net.cfg"

# A classifier cfg without max_batches would train forever: refused.
sed '/^max_batches/d' "$TMP/net.cfg" > "$TMP/forever.cfg"
mkdata ok "$TRAIN"
expect_fail no_max_batches "$TMP/forever.cfg" "max_batches is missing" -- timeout 60 "$DN" classifier train "$TMP/ok.data" "$TMP/forever.cfg"
finish
