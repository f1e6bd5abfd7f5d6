#include "detection_loss_darknet.h"
#include <math.h>

static void fill(float *a, int n, float v)
{
    int i;
    for(i = 0; i < n; ++i) a[i] = v;
}

/* yolo and region: per batch item and anchor, `entries` planes of w*h. */
static int plane(const layer *l, int b, int n, int entry, int entries)
{
    return b*l->outputs + (n*entries + entry)*l->w*l->h;
}

const char *dloss_unsupported(const layer *l)
{
    switch(l->type){
        case YOLO:
            return 0;
        case REGION:
            if(l->softmax_tree) return "tree softmax (hierarchical classes)";
            if(l->background) return "background=1";
            if(l->coords != 4) return "coords other than 4 (mask coefficients)";
            return 0;
        case DETECTION:
            if(l->coords != 4) return "coords other than 4";
            return 0;
        default:
            return "no known loss";
    }
}

void dloss_begin(const layer *l)
{
    int b, n, wh = l->w*l->h;
    if(l->type == YOLO){
        fill(l->loss_scale, l->batch*l->outputs, 1);
    } else if(l->type == REGION){
        int entries = l->coords + 1 + l->classes;
        fill(l->loss_scale, l->batch*l->outputs, 0);   /* boxes: always marked */
        for(b = 0; b < l->batch; ++b){
            for(n = 0; n < l->n; ++n){
                fill(l->loss_scale + plane(l, b, n, l->coords, entries), wh, l->noobject_scale);
                fill(l->loss_scale + plane(l, b, n, l->coords + 1, entries), l->classes*wh, l->class_scale);
            }
        }
    } else if(l->type == DETECTION){
        int locations = l->side*l->side;
        for(b = 0; b < l->batch; ++b){
            float *s = l->loss_scale + b*l->inputs;
            fill(s, locations*l->classes, l->class_scale);
            fill(s + locations*l->classes, locations*l->n, l->noobject_scale);
            fill(s + locations*(l->classes + l->n), locations*l->n*l->coords, l->coord_scale);
        }
    }
}

/* yolo and region: x, y logistic; w, h linear; objectness logistic; classes
 * logistic, or one softmax group per cell (region with softmax=1). */
static double anchor_grid_loss(const layer *l, int coords, int softmax)
{
    const float *p = l->output, *d = l->delta, *s = l->loss_scale;
    int entries = coords + 1 + l->classes, wh = l->w*l->h;
    int b, n, loc, e;
    double sum = 0;
    for(b = 0; b < l->batch; ++b){
        for(n = 0; n < l->n; ++n){
            int base = plane(l, b, n, 0, entries);
            for(loc = 0; loc < wh; ++loc){
                int i = base + loc;
                for(e = 0; e < 2; ++e) sum += dloss_logistic(p[i + e*wh], d[i + e*wh], s[i + e*wh]);
                for(e = 2; e < 4; ++e) sum += dloss_linear(d[i + e*wh], s[i + e*wh]);
                sum += dloss_logistic(p[i + coords*wh], d[i + coords*wh], s[i + coords*wh]);
                int c = i + (coords + 1)*wh;
                if(softmax){
                    sum += dloss_softmax(p + c, d + c, l->classes, wh, s[c]);
                } else {
                    for(e = 0; e < l->classes; ++e) sum += dloss_logistic(p[c + e*wh], d[c + e*wh], s[c + e*wh]);
                }
            }
        }
    }
    return sum;
}

/* detection (YOLOv1): per batch item, classes of every cell (softmax groups
 * or linear), then objectness (linear), then boxes (linear). */
static double detection_loss(const layer *l)
{
    const float *p = l->output, *d = l->delta, *s = l->loss_scale;
    int locations = l->side*l->side;
    int b, i, k;
    double sum = 0;
    for(b = 0; b < l->batch; ++b){
        int base = b*l->inputs;
        for(i = 0; i < locations; ++i){
            int c = base + i*l->classes;
            if(l->softmax) sum += dloss_softmax(p + c, d + c, l->classes, 1, s[c]);
            else for(k = 0; k < l->classes; ++k) sum += dloss_linear(d[c + k], s[c + k]);
        }
        for(k = base + locations*l->classes; k < base + l->inputs; ++k){
            sum += dloss_linear(d[k], s[k]);
        }
    }
    return sum;
}

double dloss_layer_loss(const layer *l)
{
    if(!l->loss_scale || dloss_unsupported(l)) return NAN;
    switch(l->type){
        case YOLO: return anchor_grid_loss(l, 4, 0);
        case REGION: return anchor_grid_loss(l, l->coords, l->softmax);
        case DETECTION: return detection_loss(l);
        default: return NAN;
    }
}
