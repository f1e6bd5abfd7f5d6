/* The true loss of the yolo, region and detection layers (src/detection_loss*.c).
 *
 * 1. The per-entry formulas against a float64 reference written differently
 *    (softplus form of the cross-entropy): value, minimum 0 at the target.
 * 2. Finite differences on each layer type, on random small inputs and
 *    truths (several truths per image, two truths in one cell, ignored
 *    predictions, several classes and anchors): moving one input entry z_i
 *    by +-1e-3 changes the loss at the rate -delta_i, for every entry:
 *    |slope + delta_i| <= 1e-3 (|delta_i| + 0.2). Central differences in
 *    double; the other entries' terms are bit-identical, so the error is the
 *    float rounding of the outputs (softmax groups: up to ~1e-4 absolute);
 *    a wrong scale or a missing kind of entry gives errors of order 1. Reported per kind of entry (x/y, w/h,
 *    objectness, classes), so one wrong kind cannot hide.
 *    Targets (which prediction is matched or ignored) depend on z piecewise;
 *    a check is only made where the delta pattern is the same at z +- eps*v.
 *    With rescore=1 the objectness target is the IoU of the predicted box,
 *    which upstream treats as a constant (no gradient flows through it), so
 *    the loss is that of the target frozen at the current IoU; moving the box
 *    entries moves that target, so rescore cases are checked along objectness
 *    and class directions, and box directions in the cases without rescore.
 * 3. ALI-G adds the true losses of several loss layers (upstream averages
 *    the costs it prints; the deltas add). */
#include "testutil.h"
#include "detection_loss_darknet.h"
#include "alig_darknet.h"
#include "yolo_layer.h"
#include "region_layer.h"
#include "detection_layer.h"

#define FD_TOL 1e-3

/* Layers print statistics on stdout every forward: hidden. */
static int stdout_off(void)
{
    fflush(stdout);
    int saved = dup(1), devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1); close(devnull);
    return saved;
}

static void stdout_on(int saved)
{
    fflush(stdout);
    dup2(saved, 1); close(saved);
}

static void forward_quiet(layer *l, network *net)
{
    int saved = stdout_off();
    l->forward(*l, *net);
    stdout_on(saved);
}

/* ------------------------------------------------ 1. per-entry formulas */
static double softplus(double z) { return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z)); }

/* s * (BCE(t, sigmoid z) - H(t)), BCE as softplus(z) - t z. */
static double ref_logistic(double z, double t, double s)
{
    double h = (t > 0 && t < 1) ? -t * log(t) - (1 - t) * log(1 - t) : 0;
    return s * (softplus(z) - t * z - h);
}

static void check_formulas(void)
{
    int k;
    double worst = 0, worst_min = 0, worst_lin = 0, worst_sm = 0, most_neg = 0;
    for(k = 0; k < 2000; ++k){
        double z = tu_uniform(-6, 6), s = tu_uniform(0.05, 5);
        double t = k % 4 == 0 ? 0 : k % 4 == 1 ? 1 : tu_unif();
        float p = (float)(1 / (1 + exp(-z)));
        float d = (float)(s * (t - p));
        /* the reference at the logit of the float output itself */
        double zp = log((double)p / (1.0 - (double)p));
        double got = dloss_logistic(p, d, (float)s), ref = ref_logistic(zp, t, s);
        double e = fabs(got - ref) / (fabs(ref) + 1e-4 * s);   /* floor: p is a float */
        if(e > worst) worst = e;
        if(got < most_neg) most_neg = got;
        /* at the target itself (delta 0 up to rounding) the loss is 0; a
         * target within 1e-5 of 0 or 1 is taken as 0 or 1 (costs < s*2e-5) */
        double at_min = dloss_logistic((float)t, (float)(s * (t - (float)t)), (float)s);
        if(fabs(at_min) > worst_min) worst_min = fabs(at_min);

        double lt = tu_uniform(-3, 3);
        float ld = (float)(s * (lt - z));
        double le = fabs(dloss_linear(ld, (float)s) - 0.5 * s * (lt - z) * (lt - z)) / (0.5 * s * (lt - z) * (lt - z) + 1e-12);
        if(le > worst_lin) worst_lin = le;

        /* softmax group of 4, one-hot target: s * (-log p_c) */
        float zz[4], pp[4], dd[4];
        double m = -1e9, sum = 0;
        int c = tu_randint(4), i;
        for(i = 0; i < 4; ++i){ zz[i] = (float)tu_uniform(-4, 4); if(zz[i] > m) m = zz[i]; }
        for(i = 0; i < 4; ++i) sum += exp(zz[i] - m);
        for(i = 0; i < 4; ++i) pp[i] = (float)(exp(zz[i] - m) / sum);
        for(i = 0; i < 4; ++i) dd[i] = (float)(s * ((i == c) - pp[i]));
        double sref = s * (log(sum) + m - zz[c]);
        double se = fabs(dloss_softmax(pp, dd, 4, 1, (float)s) - sref) / (sref + 1e-6);
        if(se > worst_sm) worst_sm = se;
    }
    tu_check("logistic: s*(BCE - H(t)) vs softplus-form float64 reference (2000 draws)", worst, 1e-4);
    tu_check("logistic: loss at the target is 0", worst_min, 1e-4);
    tu_check("logistic: never negative (most negative value)", -most_neg, 0);
    tu_check("linear: delta^2/(2s) vs s/2 (t-z)^2", worst_lin, 1e-5);
    tu_check("softmax, one-hot target: vs s*(logsumexp(z) - z_c)", worst_sm, 1e-4);
    tu_check_true("an entry written without a scale gives NaN (a missing mark cannot pass as 0)",
                  isnan(dloss_logistic(0.3f, 0.2f, 0)) && isnan(dloss_linear(0.2f, 0)), "");
}

/* ------------------------------------------------ 2. finite differences */
typedef struct {
    const char *name;
    layer l;
    network net;
    size_t seen;
    float *z;
    int n;
    int (*kind)(const layer *l, int i);   /* 0 x/y, 1 w/h, 2 obj, 3 class */
    int targets_follow_boxes;             /* rescore: see the top comment */
    int expect_ignored;                   /* some predictions must be ignored */
} fd_case;

/* yolo and region: entry e of the anchor's planes */
static int grid_kind(const layer *l, int i)
{
    int coords = l->type == YOLO ? 4 : l->coords;   /* yolo leaves coords at 0 */
    int wh = l->w*l->h, entries = coords + 1 + l->classes;
    int e = ((i % l->outputs) / wh) % entries;
    return e < 2 ? 0 : e < 4 ? 1 : e == coords ? 2 : 3;
}

/* detection: classes of all cells, objectness, boxes (x y w h per box) */
static int detection_kind(const layer *l, int i)
{
    int locations = l->side*l->side, r = i % l->inputs;
    if(r < locations*l->classes) return 3;
    if(r < locations*(l->classes + l->n)) return 2;
    return ((r - locations*(l->classes + l->n)) % l->coords) < 2 ? 0 : 1;
}

static double loss_at(fd_case *c, const float *z, float *delta)
{
    memcpy(c->net.input, z, c->n * sizeof(float));
    forward_quiet(&c->l, &c->net);
    if(delta) memcpy(delta, c->l.delta, c->n * sizeof(float));
    return dloss_layer_loss(&c->l);
}

static int same_pattern(const float *a, const float *b, int n)
{
    int i;
    for(i = 0; i < n; ++i) if((a[i] == 0) != (b[i] == 0)) return 0;
    return 1;
}

static void fd_check(fd_case *c)
{
    static const char *kinds[] = {"x/y", "w/h", "objectness", "classes"};
    int n = c->n, i, k;
    float *d0 = calloc(n, sizeof(float)), *dp = calloc(n, sizeof(float)), *dm = calloc(n, sizeof(float));
    float *z = calloc(n, sizeof(float));
    double l0 = loss_at(c, c->z, d0);
    char what[240];

    int ignored = 0, matched = 0, negative = 0;
    for(i = 0; i < n; ++i){
        if(c->kind(&c->l, i) != 2) continue;
        if(d0[i] == 0) ++ignored; else if(d0[i] > 0) ++matched; else ++negative;
    }
    snprintf(what, sizeof what, "%s: loss %.4g finite and >= 0; %d objectness entries matched, %d ignored, %d pushed down",
             c->name, l0, matched, ignored, negative);
    tu_check_true(what, isfinite(l0) && l0 >= 0 && matched + negative >= 2
                  && (!c->expect_ignored || ignored >= 1), "");

    /* One entry at a time: only that entry's output moves, so the other
     * terms of the loss are bit-identical at z+e and z-e. */
    for(k = 0; k < 4; ++k){
        if(c->targets_follow_boxes && k < 2) continue;
        double worst = 0;
        int checked = 0, moved = 0, written = 0;
        memcpy(z, c->z, n * sizeof(float));
        for(i = 0; i < n; ++i){
            if(c->kind(&c->l, i) != k) continue;
            float zi = c->z[i];
            z[i] = zi + 1e-3f;
            double lp = loss_at(c, z, dp);
            float up = z[i];
            z[i] = zi - 1e-3f;
            double lm = loss_at(c, z, dm);
            float down = z[i];
            z[i] = zi;
            if(!same_pattern(d0, dp, n) || !same_pattern(d0, dm, n)){ ++moved; continue; }
            double slope = (lp - lm) / ((double)up - down);
            double e = fabs(slope + d0[i]) / (fabs(d0[i]) + 0.2);
            if(e > worst) worst = e;
            ++checked;
            written += d0[i] != 0;
        }
        snprintf(what, sizeof what, "%s: dloss/dz = -delta on each %s entry (%d checked, %d with delta != 0, %d skipped: targets moved)",
                 c->name, kinds[k], checked, written, moved);
        if(checked > 0 && moved * 10 <= checked + moved) tu_check(what, worst, FD_TOL);
        else tu_check_true(what, 0, "too many entries changed the targets when moved by 1e-3");
    }
    loss_at(c, c->z, 0);
    free(d0); free(dp); free(dm); free(z);
}

/* Truths: several per image; truth 1 shares truth 0's cell and size (same
 * anchor: the later write wins), truth 2 shares the cell at another size. */
static void fill_truths(float *truth, int per_item, int max_boxes, int batch, int classes, int grid_w, int grid_h)
{
    int b, t;
    for(b = 0; b < batch; ++b){
        float *tb = truth + b*per_item;
        int count = 3 + tu_randint(3);
        if(count > max_boxes) count = max_boxes;
        for(t = 0; t < count; ++t){
            float *x = tb + t*5;
            x[0] = tu_uniform(0.05, 0.95); x[1] = tu_uniform(0.05, 0.95);
            x[2] = tu_uniform(0.08, 0.6); x[3] = tu_uniform(0.08, 0.6);
            x[4] = tu_randint(classes);
            if(t == 1 || t == 2){
                int ci = (int)(tb[0] * grid_w), cj = (int)(tb[1] * grid_h);
                x[0] = (ci + tu_uniform(0.1, 0.9)) / grid_w;
                x[1] = (cj + tu_uniform(0.1, 0.9)) / grid_h;
                x[2] = t == 1 ? tb[2] * 1.02f : tb[2] * 0.3f;
                x[3] = t == 1 ? tb[3] * 0.98f : tb[3] * 0.3f;
                x[4] = (tb[4] + t) ;
                if(x[4] >= classes) x[4] -= classes;
            }
        }
    }
}

static void init_case(fd_case *c, const char *name, layer l, int truths_per_item, float zscale)
{
    int i;
    c->name = name;
    c->l = l;
    c->n = l.batch * l.inputs;
    memset(&c->net, 0, sizeof c->net);
    c->net.train = 1;
    c->net.w = c->net.h = 128;
    c->net.seen = &c->seen;
    c->net.input = calloc(c->n, sizeof(float));
    c->net.truth = calloc((size_t)l.batch * truths_per_item, sizeof(float));
    c->z = calloc(c->n, sizeof(float));
    c->targets_follow_boxes = 0;
    c->expect_ignored = 0;
    for(i = 0; i < c->n; ++i) c->z[i] = (float)(zscale * tu_uniform(-1, 1));
}

static void free_case(fd_case *c)
{
    free(c->net.input); free(c->net.truth); free(c->z);
    free_layer(c->l);
}

static void yolo_case(float ignore_thresh)
{
    static int mask[] = {0, 1, 2};
    fd_case c;
    layer l = make_yolo_layer(2, 4, 4, 3, 6, mask, 3);
    float anchors[] = {12,16, 24,30, 40,50, 60,40, 80,90, 110,120};
    memcpy(l.biases, anchors, sizeof anchors);
    l.max_boxes = 8; l.truths = l.max_boxes * 5;
    l.ignore_thresh = ignore_thresh; l.truth_thresh = 1;
    init_case(&c, ignore_thresh < 0.5 ? "yolo (ignore_thresh .1)" : "yolo (ignore_thresh .7)", l, l.truths, 2.5f);
    fill_truths(c.net.truth, l.truths, l.max_boxes, l.batch, l.classes, l.w, l.h);
    c.kind = grid_kind;
    c.expect_ignored = ignore_thresh < 0.5;
    fd_check(&c);
    free_case(&c);
}

static void region_case(int softmax, int rescore, size_t seen)
{
    fd_case c;
    layer l = make_region_layer(2, 4, 4, 3, 3, 4);
    float anchors[] = {0.6f,0.8f, 1.5f,1.2f, 2.5f,2.8f};
    memcpy(l.biases, anchors, sizeof anchors);
    l.softmax = softmax; l.rescore = rescore; l.bias_match = 1;
    l.thresh = 0.3f; l.object_scale = 5; l.noobject_scale = 1; l.class_scale = 1; l.coord_scale = 1;
    char *name = malloc(100);
    snprintf(name, 100, "region (%s classes%s%s)", softmax ? "softmax" : "logistic",
             rescore ? ", rescore" : "", seen < 12800 ? ", prior boxes" : "");
    init_case(&c, name, l, l.truths, 2.5f);
    c.seen = seen;
    fill_truths(c.net.truth, l.truths, 30, l.batch, l.classes, l.w, l.h);
    c.kind = grid_kind;
    c.targets_follow_boxes = rescore;
    fd_check(&c);
    free_case(&c);
    free(name);
}

static void detection_case(int softmax, int sqrt_wh, int rescore)
{
    fd_case c;
    int side = 3, n = 2, classes = 3, coords = 4, b, i;
    layer l = make_detection_layer(2, side*side*((1 + coords)*n + classes), n, side, classes, coords, rescore);
    l.softmax = softmax; l.sqrt = sqrt_wh;
    l.object_scale = 2; l.noobject_scale = 0.5f; l.class_scale = 1; l.coord_scale = 5;
    char *name = malloc(100);
    snprintf(name, 100, "detection (%s classes%s%s)", softmax ? "softmax" : "linear",
             sqrt_wh ? ", sqrt" : "", rescore ? ", rescore" : "");
    init_case(&c, name, l, side*side*(1 + coords + classes), 1.0f);
    /* Outputs are linear: boxes start near plausible values (x, y in the
     * cell, w, h around .3) so that IoUs are not all 0. */
    for(b = 0; b < l.batch; ++b){
        float *z = c.z + b*l.inputs + side*side*(classes + n);
        for(i = 0; i < side*side*n; ++i){
            z[i*4+0] = tu_uniform(0.2, 0.8); z[i*4+1] = tu_uniform(0.2, 0.8);
            z[i*4+2] = tu_uniform(0.2, 0.5); z[i*4+3] = tu_uniform(0.2, 0.5);
        }
        float *t = c.net.truth + b*side*side*(1 + coords + classes);
        for(i = 0; i < side*side; ++i){
            float *x = t + i*(1 + coords + classes);
            if(tu_unif() < 0.5) continue;
            x[0] = 1;
            x[1 + tu_randint(classes)] = 1;
            x[1 + classes + 0] = tu_uniform(0.1, 0.9); x[1 + classes + 1] = tu_uniform(0.1, 0.9);
            x[1 + classes + 2] = tu_uniform(0.1, 0.6); x[1 + classes + 3] = tu_uniform(0.1, 0.6);
        }
        memset(t, 0, (1 + coords + classes) * sizeof(float));
        t[0] = 1; t[1] = 1;   /* at least one object per image, one class */
        t[1 + classes + 0] = 0.5f; t[1 + classes + 1] = 0.5f; t[1 + classes + 2] = 0.3f; t[1 + classes + 3] = 0.3f;
    }
    c.kind = detection_kind;
    c.targets_follow_boxes = rescore;
    fd_check(&c);
    free_case(&c);
    free(name);
}

/* ------------------------------------------------ 3. several loss layers */
static const char *two_heads_cfg =
    "[net]\nbatch=2\nsubdivisions=1\nwidth=32\nheight=32\nchannels=3\nmax_batches=10\n"
    "policy=alig\nlearning_rate=0.1\nmomentum=0\n"
    "[convolutional]\nfilters=8\nsize=3\nstride=2\npad=1\nactivation=leaky\n"
    "[convolutional]\nfilters=24\nsize=1\nstride=1\npad=1\nactivation=linear\n"
    "[yolo]\nmask=0,1,2\nanchors=4,4, 8,8, 12,12, 16,16, 24,24, 30,30\nclasses=3\nnum=6\nignore_thresh=.5\n"
    "[route]\nlayers=-3\n"
    "[convolutional]\nfilters=24\nsize=1\nstride=2\npad=1\nactivation=linear\n"
    "[yolo]\nmask=3,4,5\nanchors=4,4, 8,8, 12,12, 16,16, 24,24, 30,30\nclasses=3\nnum=6\nignore_thresh=.5\n";

static void check_sum_of_heads(void)
{
    network *net = tu_parse_cfg(two_heads_cfg);
    int i;
    for(i = 0; i < net->inputs * net->batch; ++i) net->input[i] = (float)tu_unif();
    for(i = 0; i < net->batch; ++i){
        float *t = net->truth + i*net->truths;
        float boxes[] = {0.3f,0.3f,0.4f,0.3f,1, 0.7f,0.6f,0.2f,0.5f,2, 0.5f,0.8f,0.7f,0.3f,0};
        memcpy(t, boxes, sizeof boxes);
    }
    net->train = 1;
    tu_quiet_begin();
    int saved = stdout_off();
    forward_network(net);
    backward_network(net);
    alig_darknet_add_loss(net);
    stdout_on(saved);
    tu_quiet_end();
    double l1 = dloss_layer_loss(&net->layers[2]), l2 = dloss_layer_loss(&net->layers[5]);
    char what[200];
    snprintf(what, sizeof what, "two yolo heads: ALI-G's loss %.5g = head 1 %.5g + head 2 %.5g (not their mean)",
             net->alig->loss_sum, l1, l2);
    tu_check(what, tu_rel(net->alig->loss_sum, l1 + l2), 1e-6);
    tu_check_true("both heads have a loss", l1 > 0 && l2 > 0, "");
    free_network(net);
}

int main(void)
{
    tu_init("test_detection_loss");
    check_formulas();
    yolo_case(0.1f);
    yolo_case(0.7f);
    region_case(1, 0, 100000);
    region_case(0, 1, 100000);
    region_case(1, 1, 0);
    region_case(0, 0, 0);
    detection_case(1, 0, 0);
    detection_case(0, 1, 0);
    detection_case(0, 1, 1);
    check_sum_of_heads();
    return tu_finish();
}
