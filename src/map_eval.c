#include "map_eval.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int image, cls;
    map_box box;
} map_truth;

typedef struct {
    int image, cls, seq;
    float score;
    map_box box;
} map_det;

struct map_eval {
    int classes;
    map_truth *t;
    int nt, capt;
    map_det *d;
    int nd, capd;
};

/* isfinite() may be folded away under -Ofast, which upstream's Makefile uses. */
static int finite_f(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof(u));
    return ((u >> 23) & 0xff) != 0xff;
}

static int box_ok(map_box b)
{
    return finite_f(b.x) && finite_f(b.y) && finite_f(b.w) && finite_f(b.h) && b.w >= 0 && b.h >= 0;
}

/* Grows *buf (of *cap elements) to hold n + 1. */
static int reserve(void **buf, int *cap, int n, size_t size)
{
    if(n < *cap) return 0;
    int c = *cap ? *cap * 2 : 64;
    void *p = realloc(*buf, (size_t)c * size);
    if(!p) return -1;
    *buf = p;
    *cap = c;
    return 0;
}

map_eval *map_eval_create(int classes)
{
    if(classes <= 0) return 0;
    map_eval *e = calloc(1, sizeof(map_eval));
    if(e) e->classes = classes;
    return e;
}

void map_eval_free(map_eval *e)
{
    if(!e) return;
    free(e->t);
    free(e->d);
    free(e);
}

int map_eval_add_truth(map_eval *e, int image, int cls, map_box b)
{
    if(!e || cls < 0 || cls >= e->classes || image < 0 || !box_ok(b)) return -1;
    if(reserve((void **)&e->t, &e->capt, e->nt, sizeof(map_truth))) return -1;
    map_truth *t = &e->t[e->nt++];
    t->image = image;
    t->cls = cls;
    t->box = b;
    return 0;
}

int map_eval_add_detection(map_eval *e, int image, int cls, float score, map_box b)
{
    if(!e || cls < 0 || cls >= e->classes || image < 0 || !finite_f(score) || !box_ok(b)) return -1;
    if(reserve((void **)&e->d, &e->capd, e->nd, sizeof(map_det))) return -1;
    map_det *d = &e->d[e->nd];
    d->image = image;
    d->cls = cls;
    d->seq = e->nd++;
    d->score = score;
    d->box = b;
    return 0;
}

double map_box_iou(map_box a, map_box b)
{
    double l = a.x - a.w / 2.0 > b.x - b.w / 2.0 ? a.x - a.w / 2.0 : b.x - b.w / 2.0;
    double r = a.x + a.w / 2.0 < b.x + b.w / 2.0 ? a.x + a.w / 2.0 : b.x + b.w / 2.0;
    double t = a.y - a.h / 2.0 > b.y - b.h / 2.0 ? a.y - a.h / 2.0 : b.y - b.h / 2.0;
    double bo = a.y + a.h / 2.0 < b.y + b.h / 2.0 ? a.y + a.h / 2.0 : b.y + b.h / 2.0;
    if(r <= l || bo <= t) return 0;
    double inter = (r - l) * (bo - t);
    double uni = (double)a.w * a.h + (double)b.w * b.h - inter;
    return uni > 0 ? inter / uni : 0;
}

/* Truths by class, then image. */
static int truth_cmp(const void *pa, const void *pb)
{
    const map_truth *a = pa, *b = pb;
    if(a->cls != b->cls) return a->cls < b->cls ? -1 : 1;
    if(a->image != b->image) return a->image < b->image ? -1 : 1;
    return 0;
}

/* Detections by class, then score (highest first), then the order added. */
static int det_cmp(const void *pa, const void *pb)
{
    const map_det *a = pa, *b = pb;
    if(a->cls != b->cls) return a->cls < b->cls ? -1 : 1;
    if(a->score != b->score) return a->score > b->score ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* First index in t[lo, hi) whose image is >= image. */
static int lower_bound(const map_truth *t, int lo, int hi, int image)
{
    while(lo < hi){
        int mid = lo + (hi - lo) / 2;
        if(t[mid].image < image) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* One class: t[0, nt) its truths sorted by image, d[0, nd) its detections
 * ranked. Returns AP; *tp_out gets the true positives. */
static double class_ap(const map_truth *t, int nt, const map_det *d, int nd, float iou_thresh,
                       char *matched, char *is_tp, double *precision, int *tp_out)
{
    int i, tp = 0;
    memset(matched, 0, nt);
    for(i = 0; i < nd; ++i){
        int lo = lower_bound(t, 0, nt, d[i].image);
        int hi = lower_bound(t, lo, nt, d[i].image + 1);
        int best = -1, j;
        double best_iou = -1;
        for(j = lo; j < hi; ++j){
            double iou = map_box_iou(d[i].box, t[j].box);
            if(iou > best_iou){ best_iou = iou; best = j; }
        }
        is_tp[i] = best >= 0 && best_iou >= iou_thresh && !matched[best];
        if(is_tp[i]){ matched[best] = 1; ++tp; }
        precision[i] = (double)tp / (i + 1);
    }
    /* Each true positive adds 1/nt of recall at the best precision reached
     * at this rank or any later one. */
    double ap = 0, best_p = 0;
    for(i = nd - 1; i >= 0; --i){
        if(precision[i] > best_p) best_p = precision[i];
        if(is_tp[i]) ap += best_p / nt;
    }
    *tp_out = tp;
    return ap;
}

void map_result_free(map_result *r)
{
    if(!r) return;
    free(r->ap);
    free(r->truths);
    free(r->detections);
    free(r->tp);
    free(r->has_truth);
    memset(r, 0, sizeof(*r));
}

int map_eval_compute(const map_eval *e, float iou_thresh, map_result *r)
{
    memset(r, 0, sizeof(*r));
    if(!e || !(iou_thresh > 0 && iou_thresh <= 1)) return -1;
    int k = e->classes, c;
    r->classes = k;
    r->ap = calloc(k, sizeof(double));
    r->truths = calloc(k, sizeof(int));
    r->detections = calloc(k, sizeof(int));
    r->tp = calloc(k, sizeof(int));
    r->has_truth = calloc(k, sizeof(int));
    /* Sorted copies: the caller may add more boxes and compute again. */
    size_t nt = e->nt ? e->nt : 1, nd = e->nd ? e->nd : 1;
    map_truth *t = malloc(nt * sizeof(map_truth));
    map_det *d = malloc(nd * sizeof(map_det));
    char *matched = malloc(nt), *is_tp = malloc(nd);
    double *precision = malloc(nd * sizeof(double));
    int ok = r->ap && r->truths && r->detections && r->tp && r->has_truth && t && d && matched && is_tp && precision;
    if(ok){
        memcpy(t, e->t, e->nt * sizeof(map_truth));
        memcpy(d, e->d, e->nd * sizeof(map_det));
        qsort(t, e->nt, sizeof(map_truth), truth_cmp);
        qsort(d, e->nd, sizeof(map_det), det_cmp);
        int ti = 0, di = 0;
        double sum = 0;
        for(c = 0; c < k; ++c){
            int t0 = ti, d0 = di;
            while(ti < e->nt && t[ti].cls == c) ++ti;
            while(di < e->nd && d[di].cls == c) ++di;
            r->truths[c] = ti - t0;
            r->detections[c] = di - d0;
            if(ti == t0) continue;
            r->has_truth[c] = 1;
            r->ap[c] = class_ap(t + t0, ti - t0, d + d0, di - d0, iou_thresh, matched, is_tp, precision, &r->tp[c]);
            sum += r->ap[c];
            ++r->counted;
        }
        r->mean = r->counted ? sum / r->counted : 0;
    }
    free(t);
    free(d);
    free(matched);
    free(is_tp);
    free(precision);
    if(!ok){
        map_result_free(r);
        return -1;
    }
    return 0;
}
