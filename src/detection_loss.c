#include "detection_loss.h"
#include <math.h>

/* Float outputs saturate: sigmoid(z) rounds to 1.0f for z above ~16.6. The
 * loss of such an entry is capped at about scale * 16.6 instead of infinity. */
#define P_MIN 5.9604645e-8
#define T_SLACK 1e-5

static double clamp(double x, double lo, double hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

/* The target recovered as p + delta/scale carries delta's rounding: one this
 * close to 0 or 1 is exactly 0 or 1 (binary targets are the common case). */
static double snap(double t)
{
    if(fabs(t) < T_SLACK) return 0;
    if(fabs(t - 1) < T_SLACK) return 1;
    return t;
}

/* t log(t/p), with 0 log 0 = 0. */
static double t_log_t_over(double t, double p)
{
    return t > 0 ? t * log(t / p) : 0;
}

double dloss_logistic(float p, float delta, float scale)
{
    if(delta == 0) return 0;
    if(!(scale > 0)) return NAN;    /* a write without its scale: a missing mark */
    double q = clamp(p, P_MIN, 1 - P_MIN);
    double t = snap((double)p + (double)delta / scale);
    if(t >= 0 && t <= 1){
        return scale * (t_log_t_over(t, q) + t_log_t_over(1 - t, 1 - q));
    }
    /* A target outside [0, 1] has no minimum to shift to 0; the cross-entropy
     * still has delta as its negative gradient. */
    return scale * (-t * log(q) - (1 - t) * log(1 - q));
}

double dloss_linear(float delta, float scale)
{
    if(delta == 0) return 0;
    if(!(scale > 0)) return NAN;
    return (double)delta * delta / (2.0 * scale);
}

double dloss_softmax(const float *p, const float *delta, int n, int stride, float scale)
{
    int k, written = 0;
    for(k = 0; k < n; ++k) written |= delta[k*stride] != 0;
    if(!written) return 0;
    if(!(scale > 0)) return NAN;
    double sum = 0;
    for(k = 0; k < n; ++k){
        double q = clamp(p[k*stride], P_MIN, 1);
        double t = clamp(snap((double)p[k*stride] + (double)delta[k*stride] / scale), 0, 1);
        sum += t_log_t_over(t, q);
    }
    return scale * sum;
}

void dloss_mark(float *loss_scale, int index, int stride, int n, float scale)
{
    int k;
    for(k = 0; k < n; ++k) loss_scale[index + k*stride] = scale;
}
