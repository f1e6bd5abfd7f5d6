#include "alig.h"
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

alig_state *alig_create(alig_config cfg)
{
    alig_state *s = calloc(1, sizeof(alig_state));
    if(s) s->cfg = cfg;
    return s;
}

int alig_set_arrays(alig_state *s, const alig_array *arrays, int n_arrays)
{
    int i;
    for(i = 0; i < s->n_arrays; ++i) free(s->arrays[i].velocity);
    free(s->arrays);
    s->n_arrays = 0;
    s->arrays = calloc(n_arrays > 0 ? n_arrays : 1, sizeof(alig_array));
    if(!s->arrays) return 0;
    for(i = 0; i < n_arrays; ++i){
        s->arrays[i] = arrays[i];
        s->arrays[i].velocity = 0;
        if(s->cfg.momentum > 0 && arrays[i].n > 0){
            s->arrays[i].velocity = calloc(arrays[i].n, sizeof(float));
            if(!s->arrays[i].velocity) return 0;
        }
        s->n_arrays = i + 1;
    }
    return 1;
}

void alig_free(alig_state *s)
{
    if(!s) return;
    int i;
    for(i = 0; i < s->n_arrays; ++i) free(s->arrays[i].velocity);
    free(s->arrays);
    free(s);
}

/* Upstream builds with -Ofast, whose -ffinite-math-only lets the compiler
 * assume isfinite() is always true: test the exponent bits instead. */
static int finite_bits(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof(u));
    return ((u >> 52) & 0x7ff) != 0x7ff;
}

void alig_add_loss(alig_state *s, double loss_sum)
{
    s->loss_sum += loss_sum;
}

static void zero_accumulators(alig_state *s)
{
    int i;
    for(i = 0; i < s->n_arrays; ++i){
        memset(s->arrays[i].grad_sum, 0, s->arrays[i].n * sizeof(float));
    }
}

/* One pass: ||g||^2 and, for decayed arrays, ||w||^2 (for the decay term of
 * the loss). g = -grad_sum / B + decay * w. Each array sums in float (the
 * -Ofast build vectorises it into many partial sums), arrays add in double. */
static void gradient_norms(const alig_state *s, int batch, double *grad_sq, double *decayed_sq)
{
    const float inv_b = 1.f / batch;
    const float decay = s->cfg.decay;
    double gs = 0, ws = 0;
    int i;
    size_t j;
    for(i = 0; i < s->n_arrays; ++i){
        const alig_array *a = &s->arrays[i];
        const float *restrict p = a->param, *restrict acc = a->grad_sum;
        float part = 0, wpart = 0;
        if(a->decayed && decay > 0){
            for(j = 0; j < a->n; ++j){
                float g = -acc[j] * inv_b + decay * p[j];
                part += g * g;
                wpart += p[j] * p[j];
            }
        } else {
            for(j = 0; j < a->n; ++j){
                float g = acc[j] * inv_b;
                part += g * g;
            }
        }
        gs += part;
        ws += wpart;
    }
    *grad_sq = gs;
    *decayed_sq = ws;
}

static void apply_step(alig_array *a, int batch, float step, const alig_config *cfg)
{
    const float inv_b = 1.f / batch;
    const float wd = (a->decayed && cfg->decay > 0) ? cfg->decay : 0;
    const float mu = cfg->momentum;
    float *restrict p = a->param, *restrict acc = a->grad_sum, *restrict v = a->velocity;
    size_t j;
    if(!v){
        for(j = 0; j < a->n; ++j){
            float g = -acc[j] * inv_b + wd * p[j];
            p[j] -= step * g;
            acc[j] = 0;
        }
    } else if(cfg->form == ALIG_NESTEROV){
        /* p <- p - s g ; v <- mu v - s g ; p <- p + mu v */
        for(j = 0; j < a->n; ++j){
            float g = -acc[j] * inv_b + wd * p[j];
            float vj = mu * v[j] - step * g;
            v[j] = vj;
            p[j] += mu * vj - step * g;
            acc[j] = 0;
        }
    } else {
        /* p <- p - s g ; v <- mu v - g ; p <- p + s mu v */
        for(j = 0; j < a->n; ++j){
            float g = -acc[j] * inv_b + wd * p[j];
            float vj = mu * v[j] - g;
            v[j] = vj;
            p[j] += step * (mu * vj - g);
            acc[j] = 0;
        }
    }
}

double alig_param_sq_norm(const alig_state *s)
{
    double total = 0;
    int i;
    size_t j;
    for(i = 0; i < s->n_arrays; ++i){
        const float *p = s->arrays[i].param;
        float part = 0;
        for(j = 0; j < s->arrays[i].n; ++j) part += p[j] * p[j];
        total += part;
    }
    return total;
}

void alig_project(alig_state *s, float max_norm)
{
    if(max_norm <= 0) return;
    double norm = sqrt(alig_param_sq_norm(s));
    if(!(norm > max_norm)) return;
    float factor = (float)(max_norm / norm);
    int i;
    size_t j;
    for(i = 0; i < s->n_arrays; ++i){
        float *p = s->arrays[i].param;
        for(j = 0; j < s->arrays[i].n; ++j) p[j] *= factor;
    }
}

alig_result alig_step(alig_state *s, int batch, float max_lr)
{
    alig_result r = {0};
    double grad_sq, decayed_sq;
    gradient_norms(s, batch, &grad_sq, &decayed_sq);
    double loss = s->loss_sum / batch + 0.5 * s->cfg.decay * decayed_sq;
    s->loss_sum = 0;
    r.loss = (float)loss;
    r.grad_sq = grad_sq;
    if(!finite_bits(loss) || !finite_bits(grad_sq)){
        r.skipped = 1;
        zero_accumulators(s);
        s->skipped_total++;
        s->skipped_in_row++;
        s->last = r;
        return r;
    }
    /* ALI-G assumes a non-negative loss; a negative one (e.g. wgan) must not
     * turn the step into an ascent. */
    double unclipped = (loss > 0 ? loss : 0) / (grad_sq + s->cfg.eps);
    r.unclipped = (float)unclipped;
    r.step = (float)(unclipped < max_lr ? unclipped : max_lr);
    int i;
    for(i = 0; i < s->n_arrays; ++i){
        alig_array *a = &s->arrays[i];
        float cap = max_lr * a->lr_scale;
        float step = (float)(unclipped < cap ? unclipped : cap);
        apply_step(a, batch, step, &s->cfg);   /* also zeroes grad_sum */
    }
    alig_project(s, s->cfg.max_norm);
    s->steps_taken++;
    s->skipped_in_row = 0;
    s->last = r;
    return r;
}
