#!/bin/sh
# scripts/compare on 500 real Fashion-MNIST images, 4 iterations a run:
# every policy gets its cfg (schedule keys scaled to the budget, no ALI-G
# keys for SGD), a -log CSV and a test accuracy; results.csv, summary and
# sweep tables and the PNG plots are written; a second call reuses the runs.
. tests/lib.sh
fashion_small
OUT=$TMP/cmp
if scripts/compare --data "$FASHION.data" --iterations 4 --seeds 1,2 --policies alig,steps,poly,constant,exp,sig \
       --sweep 0.1,1 --bn-recalibrate 2 --jobs 2 --out "$OUT" >"$TMP/c.out" 2>&1; then
    ok "scripts/compare exits 0"
else
    bad "scripts/compare failed: $(tail -5 "$TMP/c.out")"; finish
fi
n=$(($(wc -l <"$OUT/results.csv") - 1))
[ "$n" -eq 14 ] && ok "results.csv: 14 runs (6 policies x 2 seeds + ALI-G 0.1 and steps 1 for the sweep)" || bad "results.csv has $n runs"
for p in alig steps poly constant exp sig; do
    grep -q "^| $p | " "$OUT/summary.md" || bad "summary.md lacks $p"
done
ok "summary.md has a row per policy"
grep -q "ALI-G vs best schedule" "$OUT/summary.md" && grep -q "ALI-G vs constant SGD" "$OUT/summary.md" &&
    ok "summary.md states the targets" || bad "summary.md lacks the target lines"
[ "$(wc -l <"$OUT/sweep.csv")" -eq 5 ] && grep -q "Spread (max - min)" "$OUT/summary.md" &&
    ok "sweep.csv: 2 policies x 2 rates, spread verdict" || bad "sweep table"
c=$OUT/runs
grep -q "^policy=steps" "$c/steps-lr0.1-s1/net.cfg" && grep -q "^steps=2,3" "$c/steps-lr0.1-s1/net.cfg" &&
    ok "steps cfg: steps at 50% and 75% of the budget" || bad "steps cfg keys"
grep -q "^policy=exp" "$c/exp-lr0.1-s2/net.cfg" && grep -q "^gamma=0.316227" "$c/exp-lr0.1-s2/net.cfg" &&
    ok "exp cfg: gamma = 0.01^(1/4)" || bad "exp cfg keys"
grep -q "^policy=sigmoid" "$c/sig-lr0.1-s1/net.cfg" && grep -q "^step=2" "$c/sig-lr0.1-s1/net.cfg" && ok "sigmoid cfg" || bad "sig cfg"
grep -q "^alig" "$c/constant-lr0.1-s1/net.cfg" && bad "SGD cfg keeps alig_ keys" || ok "SGD cfgs drop alig_ keys"
[ "$(grep -c '^max_batches=4$' "$c/alig-lr0.1-s1/net.cfg")" -eq 1 ] && grep -q "^learning_rate=0.1$" "$c/alig-lr0.1-s1/net.cfg" &&
    grep -q "^policy=alig" "$c/alig-lr0.1-s1/net.cfg" && ok "ALI-G sweep cfg: max step 0.1, budget 4" || bad "ALI-G cfg keys"
[ "$(wc -l <"$c/alig-lr1-s2/train.csv")" -eq 5 ] && ok "each run has its -log CSV" || bad "train.csv rows"
if /usr/bin/python3 -c "import matplotlib" 2>/dev/null; then
    for f in loss alig-step accuracy sensitivity; do
        [ "$(head -c 4 "$OUT/$f.png" 2>/dev/null | od -An -c | tr -d ' ')" = "211PNG" ] || bad "$f.png missing or not a PNG"
    done
    ok "plots: loss, alig-step, accuracy, sensitivity PNGs"
else
    echo "(python3-matplotlib not installed: plot check skipped)"
fi
scripts/compare --data "$FASHION.data" --iterations 4 --seeds 1,2 --policies alig,steps,poly,constant,exp,sig \
    --sweep 0.1,1 --bn-recalibrate 2 --out "$OUT" --no-plots >"$TMP/c2.out" 2>&1
[ "$(grep -c ': reused' "$TMP/c2.out")" -eq 14 ] && ok "a second call reuses all 14 finished runs" || bad "resume: $(grep -c reused "$TMP/c2.out") reused"
expect_fail "unknown policy refused" "unknown policy 'adam'" -- scripts/compare --data "$FASHION.data" --policies alig,adam --out "$TMP/x"
finish
