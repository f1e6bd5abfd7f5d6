/* Mean average precision (src/map_eval.c) on hand-made boxes. Every expected
 * number is worked out by hand in the comment above its check; the random
 * case at the end compares with a second, plain VOC-devkit style
 * implementation written here (explicit recall/precision arrays). */
#include "testutil.h"
#include "map_eval.h"

#define TOL 1e-9

static map_box bx(float x, float y, float w, float h)
{
    map_box b = {x, y, w, h};
    return b;
}

static void truth(map_eval *e, int image, int cls, map_box b)
{
    if(map_eval_add_truth(e, image, cls, b)) { printf("add_truth refused a valid box\n"); exit(2); }
}

static void det(map_eval *e, int image, int cls, float score, map_box b)
{
    if(map_eval_add_detection(e, image, cls, score, b)) { printf("add_detection refused a valid box\n"); exit(2); }
}

/* AP, TP and detections of class `cls` against the hand-computed values. */
static void check_class(const char *name, const map_result *r, int cls, double ap, int tp, int dets)
{
    char w[160];
    snprintf(w, sizeof(w), "%s: AP of class %d = %.6f", name, cls, ap);
    tu_check(w, fabs(r->ap[cls] - ap), TOL);
    snprintf(w, sizeof(w), "%s: class %d has %d TP of %d detections", name, cls, tp, dets);
    char d[64];
    snprintf(d, sizeof(d), "(got %d of %d)", r->tp[cls], r->detections[cls]);
    tu_check_true(w, r->tp[cls] == tp && r->detections[cls] == dets, d);
}

/* One class, computed at iou_thresh; returns its AP (result freed). */
static double one_class_ap(map_eval *e, float iou_thresh, map_result *keep)
{
    map_result r;
    if(map_eval_compute(e, iou_thresh, &r)) { printf("compute failed\n"); exit(2); }
    double ap = r.ap[0];
    if(keep) *keep = r; else map_result_free(&r);
    return ap;
}

static void test_perfect(void)
{
    /* Every truth found exactly, nothing else: precision 1 at every recall,
     * AP = 1. */
    map_eval *e = map_eval_create(1);
    truth(e, 0, 0, bx(.5, .5, .2, .2));
    truth(e, 1, 0, bx(.3, .3, .1, .2));
    truth(e, 1, 0, bx(.8, .7, .2, .3));
    det(e, 1, 0, .7f, bx(.8, .7, .2, .3));
    det(e, 0, 0, .9f, bx(.5, .5, .2, .2));
    det(e, 1, 0, .8f, bx(.3, .3, .1, .2));
    map_result r;
    one_class_ap(e, .5f, &r);
    check_class("perfect", &r, 0, 1.0, 3, 3);
    tu_check("perfect: mean AP = 1", fabs(r.mean - 1), TOL);
    map_result_free(&r);
    map_eval_free(e);
}

static void test_duplicate(void)
{
    /* Truths T1, T2 (one image). Ranked: d1 = T1 (TP), d2 = T1 again
     * (duplicate: FP), d3 = T2 (TP).
     *   precision 1/1, 1/2, 2/3; recall 1/2, 1/2, 1.
     *   Interpolated precision at the TPs: rank 1 max(1, 1/2, 2/3) = 1,
     *   rank 3: 2/3.  AP = 1/2 * 1 + 1/2 * 2/3 = 5/6 = 0.833333. */
    map_eval *e = map_eval_create(1);
    truth(e, 0, 0, bx(.25, .25, .2, .2));
    truth(e, 0, 0, bx(.75, .75, .2, .2));
    det(e, 0, 0, .9f, bx(.25, .25, .2, .2));
    det(e, 0, 0, .8f, bx(.25, .25, .2, .2));
    det(e, 0, 0, .7f, bx(.75, .75, .2, .2));
    map_result r;
    one_class_ap(e, .5f, &r);
    check_class("duplicate", &r, 0, 5.0 / 6, 2, 3);
    map_result_free(&r);
    map_eval_free(e);
}

static void test_duplicate_near_other_truth(void)
{
    /* VOC rule: a detection takes the truth it overlaps most, matched or
     * not. A = (.5,.5,.4,.4), B = (.6,.5,.4,.4): overlap .3 x .4 = .12,
     * union .16 + .16 - .12 = .2, IoU(A, B) = .6.
     * d1 = A (.9): TP on A. d2 = A again (.8): its best truth is A (IoU 1),
     * already matched, so FP, even though IoU(d2, B) = .6 >= .5.
     *   precision 1, 1/2; recall 1/2, 1/2.  AP = 1/2 * 1 = 0.5
     * (a rule that let d2 fall back to B would give 1). */
    map_eval *e = map_eval_create(1);
    truth(e, 0, 0, bx(.5, .5, .4, .4));
    truth(e, 0, 0, bx(.6, .5, .4, .4));
    det(e, 0, 0, .9f, bx(.5, .5, .4, .4));
    det(e, 0, 0, .8f, bx(.5, .5, .4, .4));
    map_result r;
    one_class_ap(e, .5f, &r);
    check_class("duplicate near an unmatched truth (VOC rule)", &r, 0, 0.5, 1, 2);
    map_result_free(&r);
    map_eval_free(e);
}

static void test_misses(void)
{
    /* 4 truths (4 images), 2 found exactly: precision 1, 1; recall 1/4,
     * 1/2; recall 1/2 .. 1 never reached. AP = 1/4 * 1 + 1/4 * 1 = 0.5. */
    map_eval *e = map_eval_create(1);
    int i;
    for(i = 0; i < 4; ++i) truth(e, i, 0, bx(.5, .5, .3, .3));
    det(e, 0, 0, .9f, bx(.5, .5, .3, .3));
    det(e, 2, 0, .8f, bx(.5, .5, .3, .3));
    map_result r;
    one_class_ap(e, .5f, &r);
    check_class("misses (recall 1/2)", &r, 0, 0.5, 2, 2);
    map_result_free(&r);
    map_eval_free(e);

    /* Truths but no detection at all: AP 0, and the class still counts. */
    e = map_eval_create(1);
    truth(e, 0, 0, bx(.5, .5, .3, .3));
    one_class_ap(e, .5f, &r);
    check_class("no detections", &r, 0, 0.0, 0, 0);
    tu_check_true("no detections: class counted in the mean", r.counted == 1 && r.has_truth[0] == 1, "");
    map_result_free(&r);
    map_eval_free(e);
}

static void test_fp_first(void)
{
    /* 2 truths (images 0, 1). Ranked: f (.9, no overlap: FP), d1 (.8, TP),
     * d2 (.7, TP).
     *   precision 0, 1/2, 2/3; recall 0, 1/2, 1.
     *   Interpolated at the TPs: rank 2 max(1/2, 2/3) = 2/3; rank 3 2/3.
     *   AP = 1/2 * 2/3 + 1/2 * 2/3 = 2/3 = 0.666667. */
    map_eval *e = map_eval_create(1);
    truth(e, 0, 0, bx(.3, .3, .2, .2));
    truth(e, 1, 0, bx(.6, .6, .2, .2));
    det(e, 0, 0, .8f, bx(.3, .3, .2, .2));
    det(e, 1, 0, .7f, bx(.6, .6, .2, .2));
    det(e, 0, 0, .9f, bx(.8, .8, .1, .1));
    map_result r;
    one_class_ap(e, .5f, &r);
    check_class("false positive ranked first", &r, 0, 2.0 / 3, 2, 3);
    map_result_free(&r);
    map_eval_free(e);

    /* Interpolation: 3 truths, ranked TP, FP, FP, TP, TP.
     *   precision 1, 1/2, 1/3, 2/4, 3/5; recall 1/3, 1/3, 1/3, 2/3, 1.
     *   At rank 4 the precision 1/2 is raised to the later 3/5.
     *   AP = 1/3 * (1 + 3/5 + 3/5) = 2.2/3 = 0.733333
     *   (without interpolation it would be (1 + 1/2 + 3/5)/3 = 0.7). */
    e = map_eval_create(1);
    truth(e, 0, 0, bx(.2, .2, .2, .2));
    truth(e, 1, 0, bx(.2, .2, .2, .2));
    truth(e, 2, 0, bx(.2, .2, .2, .2));
    det(e, 0, 0, .9f, bx(.2, .2, .2, .2));
    det(e, 0, 0, .8f, bx(.7, .7, .2, .2));
    det(e, 1, 0, .7f, bx(.7, .7, .2, .2));
    det(e, 1, 0, .6f, bx(.2, .2, .2, .2));
    det(e, 2, 0, .5f, bx(.2, .2, .2, .2));
    one_class_ap(e, .5f, &r);
    check_class("precision interpolated from the right", &r, 0, 2.2 / 3, 3, 5);
    map_result_free(&r);
    map_eval_free(e);
}

static void test_classes(void)
{
    /* class 0: A0 (img 0), A1 (img 1), both found: AP 1.
     * class 1: B0 (img 0), B1 (img 1); ranked: a class-1 detection on A0's
     *   box (.9: a class-0 truth does not count for class 1, FP), B0 (.8,
     *   TP), B1 (.7, TP): as in test_fp_first, AP = 2/3.
     * class 2: four truths (imgs 0-3), two found: AP 1/2 (test_misses).
     * class 3: no truth, one detection on A0: left out, ignored.
     * mean = (1 + 2/3 + 1/2) / 3 = (13/6) / 3 = 13/18 = 0.722222. */
    map_box a0 = bx(.2, .2, .2, .2), a1 = bx(.7, .7, .2, .2);
    map_box b0 = bx(.7, .3, .2, .2), b1 = bx(.3, .7, .2, .2);
    map_box c = bx(.5, .5, .1, .1);
    map_eval *e = map_eval_create(4);
    int i;
    truth(e, 0, 0, a0);
    truth(e, 1, 0, a1);
    truth(e, 0, 1, b0);
    truth(e, 1, 1, b1);
    for(i = 0; i < 4; ++i) truth(e, i, 2, c);
    det(e, 0, 3, .99f, a0);
    det(e, 0, 0, .95f, a0);
    det(e, 1, 0, .6f, a1);
    det(e, 0, 1, .9f, a0);
    det(e, 0, 1, .8f, b0);
    det(e, 1, 1, .7f, b1);
    det(e, 0, 2, .5f, c);
    det(e, 1, 2, .4f, c);
    map_result r;
    if(map_eval_compute(e, .5f, &r)) { printf("compute failed\n"); exit(2); }
    check_class("classes", &r, 0, 1.0, 2, 2);
    check_class("classes", &r, 1, 2.0 / 3, 2, 3);
    check_class("classes", &r, 2, 0.5, 2, 2);
    tu_check_true("classes: class 3 (no truth) left out, its detection counted but not scored",
                  r.has_truth[3] == 0 && r.truths[3] == 0 && r.detections[3] == 1 && r.tp[3] == 0 && r.ap[3] == 0, "");
    tu_check_true("classes: truth counts 2, 2, 4, 0", r.truths[0] == 2 && r.truths[1] == 2 && r.truths[2] == 4, "");
    tu_check_true("classes: 3 of 4 classes in the mean", r.counted == 3, "");
    tu_check("classes: mean AP = 13/18 = 0.722222", fabs(r.mean - 13.0 / 18), TOL);
    map_result_free(&r);

    /* Computing again after more boxes: class 3 gets a truth, found by its
     * detection: AP 1, mean (1 + 2/3 + 1/2 + 1) / 4 = (19/6) / 4 = 19/24. */
    truth(e, 0, 3, a0);
    if(map_eval_compute(e, .5f, &r)) { printf("compute failed\n"); exit(2); }
    tu_check("classes, computed again with a class-3 truth: mean = 19/24", fabs(r.mean - 19.0 / 24), TOL);
    map_result_free(&r);
    map_eval_free(e);
}

static void test_iou_threshold(void)
{
    /* Truth: the 1 x 1 box [0,1] x [0,1]. A detection of the same size
     * shifted right by s overlaps (1 - s) x 1 of a union 1 + s:
     * IoU = (1 - s) / (1 + s).
     *   s = .333: .667 / 1.333 = 0.500375  -> TP (AP 1)
     *   s = .334: .666 / 1.334 = 0.499250  -> FP (AP 0)
     * With -iou .75: s = .1: .9 / 1.1 = .818 TP; s = .2: .8 / 1.2 = .667 FP. */
    struct { float s, thresh; double ap; const char *what; } c[] = {
        {.333f, .5f, 1, "IoU 0.500375 >= 0.5: true positive"},
        {.334f, .5f, 0, "IoU 0.499250 <  0.5: false positive"},
        {.1f, .75f, 1, "IoU 0.818 >= 0.75: true positive"},
        {.2f, .75f, 0, "IoU 0.667 <  0.75: false positive"},
        {.2f, .5f, 1, "IoU 0.667 >= 0.5: true positive"},
    };
    int i;
    for(i = 0; i < (int)(sizeof(c) / sizeof(c[0])); ++i){
        map_eval *e = map_eval_create(1);
        truth(e, 0, 0, bx(.5, .5, 1, 1));
        det(e, 0, 0, .9f, bx(.5f + c[i].s, .5, 1, 1));
        char w[160];
        snprintf(w, sizeof(w), "threshold: %s", c[i].what);
        tu_check(w, fabs(one_class_ap(e, c[i].thresh, 0) - c[i].ap), TOL);
        map_eval_free(e);
    }

    /* Exactly at the threshold: truth [0,2]x[0,1], detection [0,1]x[0,1]:
     * intersection 1, union 2, IoU = 1/2 exactly in binary: counts (>=). */
    map_eval *e = map_eval_create(1);
    truth(e, 0, 0, bx(1, .5, 2, 1));
    det(e, 0, 0, .9f, bx(.5, .5, 1, 1));
    tu_check("threshold: IoU exactly 0.5 counts as a true positive", fabs(one_class_ap(e, .5f, 0) - 1), TOL);
    map_eval_free(e);

    /* The detection must be in the same image as the truth. */
    e = map_eval_create(1);
    truth(e, 0, 0, bx(.5, .5, .2, .2));
    det(e, 1, 0, .9f, bx(.5, .5, .2, .2));
    tu_check("same box in another image: false positive (AP 0)", fabs(one_class_ap(e, .5f, 0)), TOL);
    map_eval_free(e);
}

static void test_iou(void)
{
    tu_check("iou: same box = 1", fabs(map_box_iou(bx(.3, .4, .2, .1), bx(.3, .4, .2, .1)) - 1), 1e-6);
    tu_check("iou: disjoint = 0", fabs(map_box_iou(bx(.2, .2, .1, .1), bx(.8, .8, .1, .1))), 0);
    tu_check("iou: edges touching = 0", fabs(map_box_iou(bx(.5, .5, 1, 1), bx(1.5, .5, 1, 1))), 0);
    /* [0,2]x[0,1] and [0,1]x[0,1]: 1 / 2 */
    tu_check("iou: half = 0.5", fabs(map_box_iou(bx(1, .5, 2, 1), bx(.5, .5, 1, 1)) - .5), 1e-12);
    /* A = (.5,.5,.4,.4), B = (.6,.5,.4,.4): .12 / .2 = .6 */
    tu_check("iou: shifted = 0.6", fabs(map_box_iou(bx(.5, .5, .4, .4), bx(.6, .5, .4, .4)) - .6), 1e-6);
    tu_check("iou: zero-size boxes = 0", fabs(map_box_iou(bx(.5, .5, 0, 0), bx(.5, .5, 0, 0))), 0);
}

static void test_ties(void)
{
    /* Equal scores keep the order added (the adapter adds image by image).
     * 1 truth; FP then TP at .5: precision 0, 1/2 -> AP 1/2.
     * TP then FP: precision 1, 1/2 -> AP 1. */
    map_eval *e = map_eval_create(1);
    truth(e, 0, 0, bx(.5, .5, .2, .2));
    det(e, 0, 0, .5f, bx(.1, .1, .1, .1));
    det(e, 0, 0, .5f, bx(.5, .5, .2, .2));
    tu_check("tie: FP added first ranks first, AP 1/2", fabs(one_class_ap(e, .5f, 0) - .5), TOL);
    map_eval_free(e);
    e = map_eval_create(1);
    truth(e, 0, 0, bx(.5, .5, .2, .2));
    det(e, 0, 0, .5f, bx(.5, .5, .2, .2));
    det(e, 0, 0, .5f, bx(.1, .1, .1, .1));
    tu_check("tie: TP added first ranks first, AP 1", fabs(one_class_ap(e, .5f, 0) - 1), TOL);
    map_eval_free(e);
}

static void test_refusals(void)
{
    map_eval *e = map_eval_create(2);
    map_box ok = bx(.5, .5, .2, .2);
    tu_check_true("create(0) refused", map_eval_create(0) == 0, "");
    tu_check_true("truth class 2 of 2 refused", map_eval_add_truth(e, 0, 2, ok) == -1, "");
    tu_check_true("truth class -1 refused", map_eval_add_truth(e, 0, -1, ok) == -1, "");
    tu_check_true("truth negative image refused", map_eval_add_truth(e, -1, 0, ok) == -1, "");
    tu_check_true("truth negative width refused", map_eval_add_truth(e, 0, 0, bx(.5, .5, -.1, .2)) == -1, "");
    tu_check_true("truth NaN box refused", map_eval_add_truth(e, 0, 0, bx(NAN, .5, .1, .2)) == -1, "");
    tu_check_true("detection NaN score refused", map_eval_add_detection(e, 0, 0, NAN, ok) == -1, "");
    tu_check_true("detection infinite score refused", map_eval_add_detection(e, 0, 0, INFINITY, ok) == -1, "");
    tu_check_true("detection class 2 of 2 refused", map_eval_add_detection(e, 0, 2, .5f, ok) == -1, "");
    map_result r;
    tu_check_true("iou threshold 0 refused", map_eval_compute(e, 0, &r) == -1, "");
    tu_check_true("iou threshold 1.5 refused", map_eval_compute(e, 1.5f, &r) == -1, "");
    tu_check_true("no truths at all: 0 classes counted, mean 0",
                  map_eval_compute(e, .5f, &r) == 0 && r.counted == 0 && r.mean == 0, "");
    map_result_free(&r);
    map_eval_free(e);
}

/* ---- random sets against a plain devkit-style AP ------------------------ */
typedef struct { int image; float score; map_box b; } rdet;

static int rdet_cmp(const void *pa, const void *pb)
{
    const rdet *a = pa, *b = pb;
    return a->score > b->score ? -1 : a->score < b->score;
}

/* VOC devkit: cumulative tp/fp, rec = tp/npos, prec = tp/(tp+fp),
 * mrec = [0 rec 1], mpre = [0 prec 0], mpre made non-increasing from the
 * right, AP = sum over steps of recall of (mrec[i+1]-mrec[i]) mpre[i+1]. */
static double devkit_ap(const map_box *t, const int *timg, int nt, rdet *d, int nd, double thr)
{
    int i, j, tp = 0, fp = 0;
    char *used = calloc(nt, 1);
    double *mrec = calloc(nd + 2, sizeof(double)), *mpre = calloc(nd + 2, sizeof(double));
    qsort(d, nd, sizeof(rdet), rdet_cmp);
    for(i = 0; i < nd; ++i){
        double best = -1;
        int jbest = -1;
        for(j = 0; j < nt; ++j){
            if(timg[j] != d[i].image) continue;
            double o = map_box_iou(d[i].b, t[j]);
            if(o > best){ best = o; jbest = j; }
        }
        if(jbest >= 0 && best >= thr && !used[jbest]){ used[jbest] = 1; ++tp; }
        else ++fp;
        mrec[i + 1] = (double)tp / nt;
        mpre[i + 1] = (double)tp / (tp + fp);
    }
    mrec[nd + 1] = 1;
    mpre[nd + 1] = 0;
    for(i = nd; i >= 0; --i) if(mpre[i + 1] > mpre[i]) mpre[i] = mpre[i + 1];
    double ap = 0;
    for(i = 0; i <= nd; ++i) if(mrec[i + 1] != mrec[i]) ap += (mrec[i + 1] - mrec[i]) * mpre[i + 1];
    free(used); free(mrec); free(mpre);
    return ap;
}

static void test_random(void)
{
    int trial, worst_trial = -1;
    double worst = 0;
    for(trial = 0; trial < 200; ++trial){
        int nt = 1 + tu_randint(12), nd = tu_randint(25), images = 1 + tu_randint(4), i;
        map_box t[12];
        int timg[12];
        rdet d[25];
        map_eval *e = map_eval_create(1);
        for(i = 0; i < nt; ++i){
            timg[i] = tu_randint(images);
            t[i] = bx(tu_uniform(.1, .9), tu_uniform(.1, .9), tu_uniform(.05, .4), tu_uniform(.05, .4));
            truth(e, timg[i], 0, t[i]);
        }
        for(i = 0; i < nd; ++i){
            /* half near a truth, half anywhere */
            int k = tu_randint(nt);
            d[i].image = tu_unif() < .8 ? timg[k] : tu_randint(images);
            d[i].score = (float)tu_unif();
            if(tu_unif() < .5) d[i].b = bx(t[k].x + tu_uniform(-.05, .05), t[k].y + tu_uniform(-.05, .05), t[k].w * tu_uniform(.8, 1.2), t[k].h);
            else d[i].b = bx(tu_uniform(.1, .9), tu_uniform(.1, .9), tu_uniform(.05, .4), tu_uniform(.05, .4));
            det(e, d[i].image, 0, d[i].score, d[i].b);
        }
        double ours = one_class_ap(e, .5f, 0);
        double ref = devkit_ap(t, timg, nt, d, nd, .5);
        if(fabs(ours - ref) > worst){ worst = fabs(ours - ref); worst_trial = trial; }
        map_eval_free(e);
    }
    char w[160];
    snprintf(w, sizeof(w), "200 random sets: AP = devkit-style AP (worst at trial %d)", worst_trial);
    tu_check(w, worst, 1e-12);
}

int main(void)
{
    tu_init("test_map_eval");
    test_perfect();
    test_duplicate();
    test_duplicate_near_other_truth();
    test_misses();
    test_fp_first();
    test_classes();
    test_iou_threshold();
    test_iou();
    test_ties();
    test_refusals();
    test_random();
    return tu_finish();
}
