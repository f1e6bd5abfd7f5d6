#!/bin/sh
# Weights files (issue 6): a truncated file is refused before it is used,
# naming the file and the expected and actual sizes (patch 0204); saves are
# atomic: the temporary file is renamed over the target (patch 0205).
. tests/lib.sh
DN=${DARKNET:-./darknet}
fashion_small
small_cfg "$TMP/net.cfg" ""
sed -i 's/batch=32/batch=8/; s/max_batches=40/max_batches=2/' "$TMP/net.cfg"
if ! timeout 120 "$DN" classifier train "$FASHION.data" "$TMP/net.cfg" >"$TMP/out" 2>&1; then
    bad "cannot train the small net"; tail -5 "$TMP/out"; finish
fi
W=$TMP/backup/net.weights
size=$(wc -c < "$W")
ls "$TMP/backup" | grep -q '\.tmp\.' && bad "a temporary file was left in backup/" || ok "no temporary file left after saving"
for n in 0 12 30 $((size - 4)); do
    head -c $n "$W" > "$TMP/t$n.weights"
    expect_fail "weights_truncated_to_$n" "$TMP/t$n.weights" "has $n bytes" -- \
        timeout 60 "$DN" classifier train "$FASHION.data" "$TMP/net.cfg" "$TMP/t$n.weights"
done
grep -q "needs $size" "$TMP/out" && ok "message gives the expected size $size" || bad "expected size $size not in message: $(tail -1 "$TMP/out")"
# The complete file still loads (and a longer one, as upstream allows).
cp "$W" "$TMP/long.weights"; printf 'xxxx' >> "$TMP/long.weights"
for f in "$W" "$TMP/long.weights"; do
    sed 's/max_batches=2/max_batches=3/' "$TMP/net.cfg" > "$TMP/net3.cfg"
    if timeout 120 "$DN" classifier train "$FASHION.data" "$TMP/net3.cfg" "$f" >"$TMP/out" 2>&1; then ok "loads $(basename "$f")"
    else bad "cannot load $(basename "$f")"; tail -3 "$TMP/out"; fi
done
# A save into a folder that cannot be written names the file and exits 1.
sed "s|^backup.*|backup = $TMP/no/such/dir|" "$FASHION.data" > "$TMP/nodir.data"
expect_fail save_fails "$TMP/no/such/dir/net.weights" -- timeout 120 "$DN" classifier train "$TMP/nodir.data" "$TMP/net.cfg"
finish
