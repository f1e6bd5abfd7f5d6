#!/bin/sh
# Bad [net] values stop before training with a message naming the file, the
# key and the value, and a non-zero exit.
. tests/lib.sh
printf 'classes=10\ntrain=%s/none.list\nlabels=%s/none.labels\nbackup=%s\n' "$TMP" "$TMP" "$TMP" > "$TMP/x.data"
try() { # name expected-substring net-lines
    small_cfg "$TMP/$1.cfg" "$3"
    expect_fail "$1" "$TMP/$1.cfg" "$2" -- ./darknet classifier train "$TMP/x.data" "$TMP/$1.cfg"
}
try lr_zero         "learning_rate=0"        "policy=alig
learning_rate=0"
try lr_negative     "learning_rate=-1"       "policy=alig
learning_rate=-1"
try lr_not_number   "learning_rate=abc"      "policy=alig
learning_rate=abc"
try lr_not_number_steps "learning_rate=abc"  "policy=constant
learning_rate=abc"
try momentum_neg    "momentum=-0.1"          "policy=alig
learning_rate=0.1
momentum=-0.1"
try momentum_one    "momentum=1"             "policy=alig
learning_rate=0.1
momentum=1"
try eps_zero        "alig_eps=0"             "policy=alig
learning_rate=0.1
alig_eps=0"
try eps_negative    "alig_eps=-1e-5"         "policy=alig
learning_rate=0.1
alig_eps=-1e-5"
try eps_not_number  "alig_eps=tiny"          "policy=alig
learning_rate=0.1
alig_eps=tiny"
try max_norm_neg    "alig_max_norm=-3"       "policy=alig
learning_rate=0.1
alig_max_norm=-3"
try momentum_form   "alig_momentum=heavyball" "policy=alig
learning_rate=0.1
alig_momentum=heavyball"
try unknown_policy  "policy=alg"             "policy=alg
learning_rate=0.1"
try bn_recal_neg    "bn_recalibrate=-2"      "policy=alig
learning_rate=0.1
bn_recalibrate=-2"

# A region layer with mask coefficients (coords=5): its true loss is not
# worked out, so ALI-G refuses it with the reason.
cat > "$TMP/region.cfg" <<CFG
[net]
batch=2
height=32
width=32
channels=3
policy=alig
learning_rate=0.1
max_batches=2
[convolutional]
filters=21
size=1
stride=1
activation=linear
[region]
anchors=1,1,2,2,3,3
classes=1
coords=5
num=3
CFG
expect_fail region_coords_refused "$TMP/region.cfg" "[region]" "coords other than 4" -- ./darknet classifier train "$TMP/x.data" "$TMP/region.cfg"
finish
