/* The ALI-G step (policy=alig) against an independent float64 computation of
 * the formulas in docs/alig-in-darknet.md ("The step"):
 *
 *   g = -p_updates/B (+ decay*w on decayed arrays)
 *   L = loss_sum/B (+ 0.5*decay*sum w^2 over decayed arrays)
 *   s = min(max_lr*lr_scale, L/(||g||^2 + eps))      (||g||^2 over ALL arrays)
 *   momentum 0:  p -= s g
 *   nesterov:    p -= s g; v = mu v - s g; p += mu v
 *   adjusted:    p -= s g; v = mu v - g;   p += s mu v
 *   projection of all arrays together onto the L2 ball of radius max_norm
 *   non-finite loss or ||g||^2: nothing updated, accumulators zeroed
 *
 * Part A drives the fork-independent core (alig.c) with random arrays.
 * Part B builds small networks from .cfg text with policy=alig and checks
 * (i) subdivisions=1 vs subdivisions=S give the same step and weights,
 * (ii) the loss the adapter accumulates is the mean of the true per-sample
 *     losses (computed here in float64 from the network's logits/predictions),
 * (iii) the step and the new weights follow from the *_updates arrays read
 *     just before the update, burn-in and per-layer learning_rate included.
 *
 * Tolerance: relative 1e-4 everywhere (float32 code vs float64 reference);
 * arrays are judged element-wise against max(|ref_i|, rms(ref)).
 * The reference never calls alig.c. */
#include "testutil.h"
#include "alig.h"
#include "alig_darknet.h"

#define RTOL 1e-4

/* ===================================================== Part A: the core */

#define CORE_MAX 6

typedef struct {
    alig_state *s;
    alig_config cfg;
    int na;
    size_t n[CORE_MAX];
    float *p[CORE_MAX], *gs[CORE_MAX];
    float lr_scale[CORE_MAX];
    int decayed[CORE_MAX];
    double *rp[CORE_MAX], *rv[CORE_MAX];   /* reference params / velocity */
} core_t;

typedef struct {
    int skipped;
    double loss, gsq, unclipped, step;
} ref_t;

static void core_setup(core_t *c, alig_config cfg, int na, int mixed_scales)
{
    int i;
    size_t j;
    memset(c, 0, sizeof(*c));
    c->cfg = cfg;
    c->na = na;
    alig_array arr[CORE_MAX];
    for(i = 0; i < na; ++i){
        c->n[i] = 1 + tu_randint(40);
        c->p[i] = malloc(c->n[i] * sizeof(float));
        c->gs[i] = calloc(c->n[i], sizeof(float));
        c->rp[i] = malloc(c->n[i] * sizeof(double));
        c->rv[i] = calloc(c->n[i], sizeof(double));
        for(j = 0; j < c->n[i]; ++j){ c->p[i][j] = (float)tu_uniform(-1, 1); c->rp[i][j] = c->p[i][j]; }
        c->decayed[i] = i == 0 ? 1 : (i == 1 ? 0 : tu_randint(2));
        c->lr_scale[i] = mixed_scales ? (i == 0 ? 0.1f : (i == 1 ? 1.f : (float)tu_uniform(0.2, 2))) : 1.f;
        alig_array a = {c->p[i], c->gs[i], (float *)0x1 /* must be ignored */, c->n[i], c->lr_scale[i], c->decayed[i]};
        arr[i] = a;
    }
    c->s = alig_create(cfg);
    int ok = c->s && alig_set_arrays(c->s, arr, na);
    tu_check_true("core: alig_create/alig_set_arrays succeed", ok, "");
    if(!ok) exit(tu_finish());
    int vel_ok = c->s->n_arrays == na;
    for(i = 0; i < na && vel_ok; ++i){
        const alig_array *a = &c->s->arrays[i];
        if(a->param != c->p[i] || a->grad_sum != c->gs[i] || a->n != c->n[i]) vel_ok = 0;
        if(cfg.momentum > 0){
            if(!a->velocity) vel_ok = 0;
            else for(j = 0; j < a->n; ++j) if(a->velocity[j] != 0) vel_ok = 0;
        } else if(a->velocity) vel_ok = 0;
    }
    char d[96];
    snprintf(d, sizeof(d), "(%d arrays; velocity %s)", na, cfg.momentum > 0 ? "zeroed buffers of its own" : "NULL");
    tu_check_true("core: arrays copied, velocity buffers owned by the state", vel_ok, d);
}

static void core_free(core_t *c)
{
    int i;
    alig_free(c->s);
    for(i = 0; i < c->na; ++i){ free(c->p[i]); free(c->gs[i]); free(c->rp[i]); free(c->rv[i]); }
}

/* grad_sum = B * gscale * U(-1,1), i.e. g ~ gscale */
static void core_fill_grad(core_t *c, int B, double gscale)
{
    int i;
    size_t j;
    for(i = 0; i < c->na; ++i) for(j = 0; j < c->n[i]; ++j) c->gs[i][j] = (float)(B * gscale * tu_uniform(-1, 1));
}

static double core_g(const core_t *c, int i, size_t j, int B)
{
    double g = -(double)c->gs[i][j] / B;
    if(c->decayed[i] && c->cfg.decay > 0) g += (double)c->cfg.decay * c->rp[i][j];
    return g;
}

static ref_t core_ref_eval(const core_t *c, double loss_sum, int B)
{
    ref_t r = {0};
    double gsq = 0, wsq = 0;
    int i;
    size_t j;
    for(i = 0; i < c->na; ++i) for(j = 0; j < c->n[i]; ++j){
        double g = core_g(c, i, j, B);
        gsq += g * g;
        if(c->decayed[i] && c->cfg.decay > 0) wsq += c->rp[i][j] * c->rp[i][j];
    }
    r.gsq = gsq;
    r.loss = loss_sum / B + 0.5 * c->cfg.decay * wsq;
    if(!isfinite(r.loss) || !isfinite(gsq)){ r.skipped = 1; return r; }
    /* alig.c: a negative loss (e.g. wgan) gives step 0, not an ascent */
    r.unclipped = (r.loss > 0 ? r.loss : 0) / (gsq + c->cfg.eps);
    return r;
}

static void core_ref_apply(core_t *c, ref_t *r, int B, double max_lr)
{
    int i;
    size_t j;
    double mu = c->cfg.momentum;
    r->step = r->unclipped < max_lr ? r->unclipped : max_lr;
    for(i = 0; i < c->na; ++i){
        double cap = max_lr * c->lr_scale[i];
        double s = r->unclipped < cap ? r->unclipped : cap;
        for(j = 0; j < c->n[i]; ++j){
            double g = core_g(c, i, j, B);
            double p = c->rp[i][j];
            if(mu == 0){
                p -= s * g;
            } else if(c->cfg.form == ALIG_NESTEROV){
                p -= s * g;
                c->rv[i][j] = mu * c->rv[i][j] - s * g;
                p += mu * c->rv[i][j];
            } else {
                p -= s * g;
                c->rv[i][j] = mu * c->rv[i][j] - g;
                p += s * mu * c->rv[i][j];
            }
            c->rp[i][j] = p;
        }
    }
    if(c->cfg.max_norm > 0){
        double ss = 0;
        for(i = 0; i < c->na; ++i) for(j = 0; j < c->n[i]; ++j) ss += c->rp[i][j] * c->rp[i][j];
        double norm = sqrt(ss);
        if(norm > c->cfg.max_norm){
            for(i = 0; i < c->na; ++i) for(j = 0; j < c->n[i]; ++j) c->rp[i][j] *= c->cfg.max_norm / norm;
        }
    }
}

/* Norm the reference step would lead to before any projection (dry run). */
static double core_ref_post_norm(const core_t *c, const ref_t *r, int B, double max_lr)
{
    int i;
    size_t j;
    double mu = c->cfg.momentum, ss = 0;
    for(i = 0; i < c->na; ++i){
        double cap = max_lr * c->lr_scale[i];
        double s = r->unclipped < cap ? r->unclipped : cap;
        for(j = 0; j < c->n[i]; ++j){
            double g = core_g(c, i, j, B), v = c->rv[i][j];
            double p = c->rp[i][j] - s * g;
            if(mu > 0){
                if(c->cfg.form == ALIG_NESTEROV){ v = mu * v - s * g; p += mu * v; }
                else { v = mu * v - g; p += s * mu * v; }
            }
            ss += p * p;
        }
    }
    return sqrt(ss);
}

static double core_norm(const core_t *c)
{
    double ss = 0;
    int i;
    size_t j;
    for(i = 0; i < c->na; ++i) for(j = 0; j < c->n[i]; ++j) ss += (double)c->p[i][j] * c->p[i][j];
    return sqrt(ss);
}

/* Adds loss_sum to the state in 1..3 parts (as subdivisions would). */
static void core_add_loss(core_t *c, double loss_sum)
{
    int parts = 1 + tu_randint(3), k;
    if(!isfinite(loss_sum)){
        for(k = 0; k < parts - 1; ++k) alig_add_loss(c->s, 0.25);
        alig_add_loss(c->s, loss_sum);
        return;
    }
    double left = loss_sum;
    for(k = 0; k < parts - 1; ++k){
        double part = loss_sum * tu_uniform(0, 0.5);
        alig_add_loss(c->s, part);
        left -= part;
    }
    alig_add_loss(c->s, left);
}

static void label_of(char *buf, size_t len, const char *scen, int step, const char *what)
{
    snprintf(buf, len, "core %s, step %d: %s", scen, step, what);
}

/* One step of the core against the reference; max_lr given. */
static alig_result core_step(core_t *c, const char *scen, int k, int B, double loss_sum, double max_lr)
{
    char w[400];
    int i;
    size_t j;
    ref_t ref = core_ref_eval(c, loss_sum, B);
    long taken0 = c->s->steps_taken, skipped0 = c->s->skipped_total;
    int inrow0 = c->s->skipped_in_row;
    /* snapshot for the skipped case: nothing may change (bit for bit) */
    float *snap_p[CORE_MAX], *snap_v[CORE_MAX];
    for(i = 0; i < c->na; ++i){
        snap_p[i] = malloc(c->n[i] * sizeof(float));
        memcpy(snap_p[i], c->p[i], c->n[i] * sizeof(float));
        snap_v[i] = 0;
        if(c->s->arrays[i].velocity){
            snap_v[i] = malloc(c->n[i] * sizeof(float));
            memcpy(snap_v[i], c->s->arrays[i].velocity, c->n[i] * sizeof(float));
        }
    }
    /* the reference step first: alig_step zeroes grad_sum */
    if(!ref.skipped) core_ref_apply(c, &ref, B, max_lr);
    core_add_loss(c, loss_sum);
    alig_result r = alig_step(c->s, B, (float)max_lr);

    int acc_zero = 1;
    for(i = 0; i < c->na; ++i) for(j = 0; j < c->n[i]; ++j) if(c->gs[i][j] != 0) acc_zero = 0;
    label_of(w, sizeof(w), scen, k, "accumulators and loss sum zeroed");
    tu_check_true(w, acc_zero && c->s->loss_sum == 0, "");

    if(ref.skipped){
        int same = 1;
        for(i = 0; i < c->na; ++i){
            if(memcmp(snap_p[i], c->p[i], c->n[i] * sizeof(float))) same = 0;
            if(snap_v[i] && memcmp(snap_v[i], c->s->arrays[i].velocity, c->n[i] * sizeof(float))) same = 0;
        }
        char d[160];
        snprintf(d, sizeof(d), "(loss %g, ||g||^2 %g; skipped=%d, in a row %d->%d, total %ld->%ld, taken %ld->%ld)",
                 ref.loss, ref.gsq, r.skipped, inrow0, c->s->skipped_in_row, skipped0, c->s->skipped_total,
                 taken0, c->s->steps_taken);
        label_of(w, sizeof(w), scen, k, "non-finite: skipped, params/velocity unchanged, counters+1");
        tu_check_true(w, r.skipped == 1 && same && c->s->skipped_in_row == inrow0 + 1 &&
                      c->s->skipped_total == skipped0 + 1 && c->s->steps_taken == taken0 &&
                      c->s->last.skipped == 1, d);
        static int hinted;
        if(!(r.skipped == 1) && !hinted){
            hinted = 1;
            printf("  hint: alig_step did not see a non-finite %s as non-finite. If alig.c is compiled with -Ofast /\n"
                   "        -ffast-math (upstream's OPTS=-Ofast), -ffinite-math-only lets the compiler fold isfinite()\n"
                   "        to true, which removes the guard.\n", isfinite(ref.loss) ? "||g||^2" : "loss");
        }
    } else {
        char d[200];
        snprintf(d, sizeof(d), "step taken, step %.6g (%s)", ref.step, ref.step < max_lr ? "unclipped" : "clipped at max_lr");
        label_of(w, sizeof(w), scen, k, d);
        tu_check(w, tu_rel(r.step, ref.step), RTOL);
        label_of(w, sizeof(w), scen, k, "unclipped = L/(||g||^2+eps)");
        tu_check(w, tu_rel(r.unclipped, ref.unclipped), RTOL);
        label_of(w, sizeof(w), scen, k, "loss L (incl. 0.5*decay*||w||^2)");
        tu_check(w, tu_rel(r.loss, ref.loss), RTOL);
        label_of(w, sizeof(w), scen, k, "||g||^2 over all arrays");
        tu_check(w, tu_rel(r.grad_sq, ref.gsq), RTOL);
        double perr = 0, verr = 0;
        for(i = 0; i < c->na; ++i){
            double e = tu_array_rel(c->p[i], c->rp[i], c->n[i]);
            if(e > perr) perr = e;
            if(c->cfg.momentum > 0){
                e = tu_array_rel(c->s->arrays[i].velocity, c->rv[i], c->n[i]);
                if(e > verr) verr = e;
            }
        }
        label_of(w, sizeof(w), scen, k, "parameters");
        tu_check(w, perr, RTOL);
        if(c->cfg.momentum > 0){
            label_of(w, sizeof(w), scen, k, "velocities");
            tu_check(w, verr, RTOL);
        }
        snprintf(d, sizeof(d), "(skipped=%d, in a row %d, taken %ld->%ld)", r.skipped, c->s->skipped_in_row, taken0, c->s->steps_taken);
        label_of(w, sizeof(w), scen, k, "counters: skipped_in_row reset, steps_taken+1");
        tu_check_true(w, !r.skipped && c->s->skipped_in_row == 0 && c->s->steps_taken == taken0 + 1 &&
                      c->s->skipped_total == skipped0, d);
    }
    for(i = 0; i < c->na; ++i){ free(snap_p[i]); free(snap_v[i]); }
    return r;
}

static alig_config make_cfg(float momentum, alig_momentum_form form, float eps, float max_norm, float decay)
{
    alig_config c;
    memset(&c, 0, sizeof(c));
    c.max_lr = 1;   /* unused by alig_step: it takes max_lr as an argument */
    c.momentum = momentum;
    c.form = form;
    c.eps = eps;
    c.max_norm = max_norm;
    c.decay = decay;
    return c;
}

static void part_a(void)
{
    printf("Part A: the core (alig.c) vs float64 reference\n");
    core_t c;
    int k, B;
    ref_t e;

    /* 1. clipped, no momentum, lr_scale varied, several steps */
    core_setup(&c, make_cfg(0, ALIG_NESTEROV, 1e-5f, 0, 0), 2 + tu_randint(3), 1);
    for(k = 1; k <= 3; ++k){
        B = 1 + tu_randint(64);
        core_fill_grad(&c, B, tu_uniform(0.05, 1));
        double loss = B * tu_uniform(0.5, 3);
        e = core_ref_eval(&c, loss, B);
        core_step(&c, "clipped/no momentum", k, B, loss, e.unclipped * 0.01);
    }
    core_free(&c);

    /* 2. unclipped, no momentum; then lr_scale clipping some arrays only */
    core_setup(&c, make_cfg(0, ALIG_NESTEROV, 1e-5f, 0, 0), 3 + tu_randint(3), 1);
    for(k = 1; k <= 2; ++k){
        B = 1 + tu_randint(64);
        core_fill_grad(&c, B, tu_uniform(0.05, 1));
        double loss = B * tu_uniform(0.5, 3);
        e = core_ref_eval(&c, loss, B);
        /* k=1: far above (every array unclipped); k=2: 1.5x, so the array
         * with lr_scale 0.1 is capped at 0.15x while the others are not */
        core_step(&c, k == 1 ? "unclipped/no momentum" : "lr_scale caps one array", k, B, loss,
                  e.unclipped * (k == 1 ? 100 : 1.5));
    }
    core_free(&c);

    /* 3./4. both momentum forms, 4 consecutive steps (velocity carried),
     * clipped and unclipped steps mixed, lr_scale varied */
    alig_momentum_form forms[2] = {ALIG_NESTEROV, ALIG_ADJUSTED};
    int f;
    for(f = 0; f < 2; ++f){
        const char *nm = f == 0 ? "nesterov mu=0.9" : "adjusted mu=0.6";
        core_setup(&c, make_cfg(f == 0 ? 0.9f : 0.6f, forms[f], 1e-5f, 0, 0), 2 + tu_randint(4), 1);
        for(k = 1; k <= 4; ++k){
            B = 1 + tu_randint(64);
            core_fill_grad(&c, B, tu_uniform(0.05, 1));
            double loss = B * tu_uniform(0.5, 3);
            e = core_ref_eval(&c, loss, B);
            core_step(&c, nm, k, B, loss, e.unclipped * ((k & 1) ? 0.2 : 5));
        }
        core_free(&c);
    }

    /* 5. projection: active (radius 0.7x the norm the step leads to, known
     * from a dry run of the reference) then inactive (radius 2x) */
    core_setup(&c, make_cfg(0.5f, ALIG_NESTEROV, 1e-5f, 1 /* set below */, 0), 3 + tu_randint(3), 0);
    for(k = 1; k <= 2; ++k){
        B = 1 + tu_randint(32);
        core_fill_grad(&c, B, tu_uniform(0.05, 0.5));
        double loss = B * tu_uniform(0.5, 3);
        e = core_ref_eval(&c, loss, B);
        double max_lr = e.unclipped * 0.5;
        double post = core_ref_post_norm(&c, &e, B, max_lr);
        c.cfg.max_norm = c.s->cfg.max_norm = (float)(k == 1 ? 0.7 * post : 2 * post);
        core_step(&c, k == 1 ? "projection active" : "projection inactive", k, B, loss, max_lr);
        char w[160];
        double nrm = core_norm(&c);
        if(k == 1){
            snprintf(w, sizeof(w), "core projection active, step 1: ||theta|| == max_norm (%.4g)", c.cfg.max_norm);
            tu_check(w, tu_rel(nrm, c.cfg.max_norm), RTOL);
        } else {
            snprintf(w, sizeof(w), "core projection inactive, step 2: ||theta|| (%.4g) == unprojected %.4g", nrm, post);
            tu_check(w, tu_rel(nrm, post), RTOL);
        }
    }
    core_free(&c);

    /* 6. weight decay on the decayed arrays, in both g and L */
    core_setup(&c, make_cfg(0.9f, ALIG_ADJUSTED, 1e-5f, 0, (float)tu_uniform(0.01, 0.2)), 3 + tu_randint(3), 1);
    for(k = 1; k <= 3; ++k){
        B = 1 + tu_randint(64);
        core_fill_grad(&c, B, tu_uniform(0.05, 1));
        double loss = B * tu_uniform(0.5, 3);
        e = core_ref_eval(&c, loss, B);
        core_step(&c, "decay>0", k, B, loss, e.unclipped * ((k & 1) ? 0.3 : 3));
    }
    core_free(&c);

    /* 7. large eps: the step is L/(||g||^2+eps), eps dominating */
    core_setup(&c, make_cfg(0, ALIG_NESTEROV, (float)tu_uniform(50, 500), 0, 0), 3, 0);
    B = 1 + tu_randint(16);
    core_fill_grad(&c, B, 0.1);
    {
        double loss = B * tu_uniform(0.5, 3);
        e = core_ref_eval(&c, loss, B);
        char w[160];
        snprintf(w, sizeof(w), "core large eps (%.3g): eps dominates ||g||^2 (%.3g)", c.cfg.eps, e.gsq);
        tu_check_true(w, c.cfg.eps > 10 * e.gsq, "");
        core_step(&c, "large eps", 1, B, loss, 1e3);
    }
    core_free(&c);

    /* 8. zero gradient: L/eps is huge; the step must be max_lr, finite */
    core_setup(&c, make_cfg(0.9f, ALIG_NESTEROV, 1e-5f, 0, 0), 3, 0);
    B = 1 + tu_randint(16);
    core_fill_grad(&c, B, 0.5);
    {
        double loss = B * tu_uniform(0.5, 3);
        e = core_ref_eval(&c, loss, B);
        core_step(&c, "zero gradient (after a normal step)", 1, B, loss, e.unclipped * 0.5);
        /* grad_sum is zero now (zeroed by the step) */
        double max_lr = tu_uniform(0.01, 1);
        alig_result r = core_step(&c, "zero gradient", 2, B, B * 1.5, max_lr);
        int finite = isfinite(r.step) && isfinite(r.loss);
        int i; size_t j;
        for(i = 0; i < c.na; ++i) for(j = 0; j < c.n[i]; ++j) if(!isfinite(c.p[i][j]) || !isfinite(c.s->arrays[i].velocity[j])) finite = 0;
        char d[120];
        snprintf(d, sizeof(d), "(step %g, max_lr %g, unclipped %g)", r.step, max_lr, r.unclipped);
        tu_check_true("core zero gradient: step == max_lr, params/velocity finite, no NaN", finite && r.step == (float)max_lr, d);
    }
    core_free(&c);

    /* 9. non-finite loss / gradient: skipped; then a normal step resets */
    core_setup(&c, make_cfg(0.9f, ALIG_NESTEROV, 1e-5f, 0, 0.01f), 3 + tu_randint(3), 1);
    {
        B = 1 + tu_randint(32);
        core_fill_grad(&c, B, 0.3);
        double loss = B * 1.2;
        e = core_ref_eval(&c, loss, B);
        core_step(&c, "non-finite", 1, B, loss, e.unclipped * 0.5);
        struct { const char *what; double loss; int grad; } bad[] = {
            {"NaN loss", NAN, 0}, {"+Inf loss", INFINITY, 0}, {"-Inf loss", -INFINITY, 0},
            {"+Inf in the gradient", 1.0, 1}, {"NaN in the gradient", 1.0, 2},
        };
        int b;
        for(b = 0; b < 5; ++b){
            core_fill_grad(&c, B, 0.3);
            if(bad[b].grad){
                int i = tu_randint(c.na);
                c.gs[i][tu_randint((int)c.n[i])] = bad[b].grad == 1 ? INFINITY : NAN;
            }
            char nm[64];
            snprintf(nm, sizeof(nm), "non-finite (%s)", bad[b].what);
            core_step(&c, nm, 2 + b, B, B * bad[b].loss, 0.5);
        }
        char d[96];
        snprintf(d, sizeof(d), "(in a row %d, total %ld)", c.s->skipped_in_row, c.s->skipped_total);
        tu_check_true("core non-finite: 5 skips in a row counted", c.s->skipped_in_row == 5 && c.s->skipped_total == 5, d);
        core_fill_grad(&c, B, 0.3);
        loss = B * 0.9;
        e = core_ref_eval(&c, loss, B);
        core_step(&c, "non-finite, then a normal step", 7, B, loss, e.unclipped * 2);
        snprintf(d, sizeof(d), "(in a row %d, total %ld, taken %ld)", c.s->skipped_in_row, c.s->skipped_total, c.s->steps_taken);
        tu_check_true("core after the skips: skipped_in_row 0, skipped_total kept", c.s->skipped_in_row == 0 &&
                      c.s->skipped_total == 5 && c.s->steps_taken == 2, d);
    }
    core_free(&c);

    /* 10. negative loss (alig.c: step 0, never an ascent) */
    core_setup(&c, make_cfg(0, ALIG_NESTEROV, 1e-5f, 0, 0), 2, 0);
    B = 4;
    core_fill_grad(&c, B, 0.3);
    {
        alig_result r = core_step(&c, "negative loss", 1, B, -B * 0.7, 0.5);
        char d[64];
        snprintf(d, sizeof(d), "(step %g)", r.step);
        tu_check_true("core negative loss: step 0", r.step == 0, d);
    }
    core_free(&c);
}

/* =================================================== Part B: networks */

typedef enum { TRUTH_ONEHOT, TRUTH_NORMAL } truth_kind;

typedef struct {
    const char *name;
    const char *layers;      /* cfg after [net] */
    int inputs_h, inputs_w, inputs_c;   /* image input (or h=w=0: inputs_c = inputs) */
    truth_kind truth;
} net_spec;

static char *make_cfg_text(const net_spec *sp, int batch, int subdiv, double lr, double momentum,
                           const char *form, double decay, double max_norm, double eps, int burn_in, double power)
{
    static char buf[8192];
    char in[128];
    if(sp->inputs_h) snprintf(in, sizeof(in), "height=%d\nwidth=%d\nchannels=%d\n", sp->inputs_h, sp->inputs_w, sp->inputs_c);
    else snprintf(in, sizeof(in), "inputs=%d\n", sp->inputs_c);
    snprintf(buf, sizeof(buf),
             "[net]\nbatch=%d\nsubdivisions=%d\n%spolicy=alig\nlearning_rate=%.9g\nmomentum=%.9g\n"
             "alig_momentum=%s\ndecay=%.9g\nalig_max_norm=%.9g\nalig_eps=%.9g\nburn_in=%d\npower=%.9g\n\n%s",
             batch, subdiv, in, lr, momentum, form, decay, max_norm, eps, burn_in, power, sp->layers);
    return buf;
}

/* B samples: inputs U(-1,1); truth one-hot over net->truths or N(0, 1.2) */
static void make_samples(network *net, const net_spec *sp, int B, float **X, float **Y)
{
    int i, j;
    *X = malloc((size_t)B * net->inputs * sizeof(float));
    *Y = calloc((size_t)B * net->truths, sizeof(float));
    for(i = 0; i < B * net->inputs; ++i) (*X)[i] = (float)tu_uniform(-1, 1);
    for(i = 0; i < B; ++i){
        if(sp->truth == TRUTH_ONEHOT) (*Y)[(size_t)i * net->truths + tu_randint(net->truths)] = 1;
        else for(j = 0; j < net->truths; ++j) (*Y)[(size_t)i * net->truths + j] = (float)(1.2 * tu_normal());
    }
}

static void load_pass(network *net, const float *X, const float *Y, int pass)
{
    memcpy(net->input, X + (size_t)pass * net->batch * net->inputs, (size_t)net->batch * net->inputs * sizeof(float));
    memcpy(net->truth, Y + (size_t)pass * net->batch * net->truths, (size_t)net->batch * net->truths * sizeof(float));
}

static void copy_params(network *dst, network *src)
{
    tu_array a[TU_MAX_ARRAYS], b[TU_MAX_ARRAYS];
    int na = tu_collect(dst, a), nb = tu_collect(src, b), i;
    if(na != nb){ fprintf(stderr, "copy_params: different networks\n"); exit(2); }
    for(i = 0; i < na; ++i){
        if(a[i].n != b[i].n){ fprintf(stderr, "copy_params: different sizes\n"); exit(2); }
        memcpy(a[i].param, b[i].param, a[i].n * sizeof(float));
    }
}

static void scale_params_to_norm(network *net, double target)
{
    tu_array a[TU_MAX_ARRAYS];
    int na = tu_collect(net, a), i;
    size_t j;
    double f = target / tu_param_norm(a, na);
    for(i = 0; i < na; ++i) for(j = 0; j < a[i].n; ++j) a[i].param[j] *= f;
}

/* --- the networks --- */
static const net_spec NET_CONV = {
    "conv->maxpool->connected->softmax",
    "[convolutional]\nfilters=3\nsize=3\nstride=1\npad=1\nactivation=tanh\n\n"
    "[maxpool]\nsize=2\nstride=2\n\n"
    "[connected]\noutput=4\nactivation=linear\n\n"
    "[softmax]\n",
    5, 5, 2, TRUTH_ONEHOT};

static const net_spec NET_HEADS = {
    "connected; heads softmax + sse(scale .7) + logistic",
    "[connected]\noutput=5\nactivation=tanh\n\n"                 /* 0 */
    "[connected]\noutput=4\nactivation=linear\n\n"               /* 1 */
    "[softmax]\n\n"                                              /* 2 loss */
    "[route]\nlayers=0\n\n"                                      /* 3 */
    "[connected]\noutput=4\nactivation=linear\n\n"               /* 4 */
    "[cost]\ntype=sse\nscale=0.7\n\n"                            /* 5 loss */
    "[route]\nlayers=0\n\n"                                      /* 6 */
    "[connected]\noutput=4\nactivation=linear\n\n"               /* 7 */
    "[logistic]\n",                                              /* 8 loss */
    0, 0, 6, TRUTH_ONEHOT};

static const net_spec NET_BN = {
    "conv+batchnorm->connected(learning_rate=0.5)->softmax",
    "[convolutional]\nbatch_normalize=1\nfilters=3\nsize=3\nstride=1\npad=1\nactivation=leaky\n\n"
    "[connected]\noutput=4\nactivation=linear\nlearning_rate=0.5\n\n"
    "[softmax]\n",
    4, 4, 2, TRUTH_ONEHOT};

static const net_spec NET_L1 = {
    "connected; heads L1(scale .3) + smooth(scale 2)",
    "[connected]\noutput=5\nactivation=tanh\n\n"
    "[connected]\noutput=3\nactivation=linear\n\n"
    "[cost]\ntype=L1\nscale=0.3\n\n"
    "[route]\nlayers=0\n\n"
    "[connected]\noutput=3\nactivation=linear\n\n"
    "[cost]\ntype=smooth\nscale=2\n",
    0, 0, 4, TRUTH_NORMAL};

/* (i) subdivisions=1 vs subdivisions=S, same weights, same B samples.
 * Networks without batch-norm: its statistics are per pass, so with
 * batch-norm the two are different functions by design. */
static void check_subdivisions(const net_spec *sp, int B, int S, double lr, double mom, const char *form,
                               double decay, int project)
{
    char title[200], w[220];
    snprintf(title, sizeof(title), "(i) %s, B=%d, S=1 vs S=%d, lr %g, %s mu=%g, decay %g, %s",
             sp->name, B, S, lr, form, mom, decay, project ? "projection active" : "no projection");
    printf("%s\n", title);
    const double R0 = 3.0;   /* initial norm of all parameters */
    double max_norm = project ? 0.5 * R0 : 0;
    int n_projected = 0;
    network *a = tu_parse_cfg(make_cfg_text(sp, B, 1, lr, mom, form, decay, max_norm, 1e-5, 0, 4));
    network *b = tu_parse_cfg(make_cfg_text(sp, B, S, lr, mom, form, decay, max_norm, 1e-5, 0, 4));
    tu_array aa[TU_MAX_ARRAYS], ba[TU_MAX_ARRAYS];
    int na = tu_collect(a, aa), nb = tu_collect(b, ba), i, k, p;
    tu_randomize_params(aa, na, 0.6);
    scale_params_to_norm(a, R0);
    copy_params(b, a);
    snprintf(w, sizeof(w), "  S=%d: net->batch %d per pass, net->subdivisions %d", S, b->batch, b->subdivisions);
    tu_check_true(w, b->batch * S == B && a->batch == B && nb == na, "");
    for(k = 1; k <= 2; ++k){
        float *X, *Y;
        make_samples(a, sp, B, &X, &Y);
        load_pass(a, X, Y, 0);
        train_network_datum(a);
        /* b: S passes; no update before the last */
        float *before = malloc(ba[0].n * sizeof(float));
        memcpy(before, ba[0].param, ba[0].n * sizeof(float));
        int early = 0;
        for(p = 0; p < S; ++p){
            load_pass(b, X, Y, p);
            train_network_datum(b);
            if(p < S - 1 && memcmp(before, ba[0].param, ba[0].n * sizeof(float))) early = 1;
        }
        snprintf(w, sizeof(w), "  step %d: S=%d updates only after its %d-th pass", k, S, S);
        tu_check_true(w, !early && memcmp(before, ba[0].param, ba[0].n * sizeof(float)) != 0, "");
        free(before);
        alig_result ra = a->alig->last, rb = b->alig->last;
        snprintf(w, sizeof(w), "  step %d: step equal (%.6g, %s)", k, ra.step, ra.step < lr * (1 - 1e-6) ? "unclipped" : "clipped");
        tu_check(w, tu_rel(rb.step, ra.step), RTOL);
        snprintf(w, sizeof(w), "  step %d: loss equal (%.6g)", k, ra.loss);
        tu_check(w, tu_rel(rb.loss, ra.loss), RTOL);
        snprintf(w, sizeof(w), "  step %d: ||g||^2 equal (%.6g)", k, ra.grad_sq);
        tu_check(w, tu_rel(rb.grad_sq, ra.grad_sq), RTOL);
        double worst = 0;
        for(i = 0; i < na; ++i){
            double *ref = malloc(aa[i].n * sizeof(double));
            size_t j;
            for(j = 0; j < aa[i].n; ++j) ref[j] = aa[i].param[j];
            double e = tu_array_rel(ba[i].param, ref, aa[i].n);
            if(e > worst) worst = e;
            free(ref);
        }
        snprintf(w, sizeof(w), "  step %d: updated weights equal (all %d arrays)", k, na);
        tu_check(w, worst, RTOL);
        if(project){
            double nrm = tu_param_norm(aa, na);
            int active = tu_rel(nrm, max_norm) <= RTOL;
            n_projected += active;
            snprintf(w, sizeof(w), "  step %d: ||theta|| <= max_norm %.4g (projection %s)", k, max_norm, active ? "active" : "inactive");
            tu_check(w, nrm / max_norm - 1 > 0 ? nrm / max_norm - 1 : 0, RTOL);
        }
        free(X); free(Y);
    }
    if(project){
        snprintf(w, sizeof(w), "  the projection was active at least once (%d of 2 steps)", n_projected);
        tu_check_true(w, n_projected > 0, "");
    }
    if(lr > 100){
        snprintf(w, sizeof(w), "  the scenario is unclipped (step %.4g < max_lr %g)", a->alig->last.step, lr);
        tu_check_true(w, a->alig->last.step < lr, "");
    }
    tu_check_coverage(a, "  S=1 net", 1);
    tu_check_coverage(b, "  S>1 net", 1);
}

/* (ii) + (iii): S passes per step, the first S-1 through
 * train_network_datum, the last by hand (forward, backward, the adapter's
 * loss hook) so that the accumulators can be read before update_network. */
static void check_loss_and_step(const net_spec *sp, int B, int S, double lr, double mom, const char *form,
                                double decay, int project, double eps, int burn_in, double power, int nsteps)
{
    char title[240], w[220];
    snprintf(title, sizeof(title), "(ii)+(iii) %s, B=%d, S=%d, lr %g, %s mu=%g, decay %g, eps %g, burn_in %d, %s",
             sp->name, B, S, lr, form, mom, decay, eps, burn_in, project ? "projection" : "no projection");
    printf("%s\n", title);
    const double R0 = 3.0;
    double max_norm = project ? 0.5 * R0 : 0;
    int n_projected = 0;
    network *net = tu_parse_cfg(make_cfg_text(sp, B, S, lr, mom, form, decay, max_norm, eps, burn_in, power));
    tu_array a[TU_MAX_ARRAYS];
    int na = tu_collect(net, a), i, k, p, li;
    size_t j;
    tu_randomize_params(a, na, 0.6);
    scale_params_to_norm(net, R0);
    tu_check_coverage(net, "  net", 1);
    double *rv[TU_MAX_ARRAYS];
    for(i = 0; i < na; ++i) rv[i] = calloc(a[i].n, sizeof(double));
    int form_adj = !strcmp(form, "adjusted");
    for(k = 1; k <= nsteps; ++k){
        float *X, *Y;
        make_samples(net, sp, B, &X, &Y);
        double ref_sum = 0;
        int nloss = 0;
        for(p = 0; p < S; ++p){
            load_pass(net, X, Y, p);
            if(p < S - 1){
                train_network_datum(net);
            } else {
                *net->seen += net->batch;
                net->train = 1;
                forward_network(net);
                backward_network(net);
                alig_darknet_add_loss(net);
            }
            /* the pass's true loss, per loss layer, from its inputs */
            double pass_sum = 0;
            nloss = 0;
            for(li = 0; li < net->n; ++li){
                if(!tu_is_loss_layer(&net->layers[li])) continue;
                double ref = 0;
                int b;
                for(b = 0; b < net->batch; ++b) ref += tu_true_loss_sample(net, li, b);
                double got = alig_darknet_layer_loss(&net->layers[li]);
                const layer *L = &net->layers[li];
                snprintf(w, sizeof(w), "  step %d pass %d: L%d %s%s%s loss == true loss %.5g", k, p + 1, li, tu_type_name(L->type),
                         L->type == COST ? " " : "", L->type == COST ? tu_cost_name(L->cost_type) : "", ref);
                tu_check(w, tu_rel(got, ref), RTOL);
                pass_sum += ref;
                nloss++;
            }
            ref_sum += pass_sum;
            snprintf(w, sizeof(w), "  step %d pass %d: accumulated loss == sum of %d loss layers, %d passes", k, p + 1, nloss, p + 1);
            tu_check(w, tu_rel(net->alig->loss_sum, ref_sum), RTOL);
        }
        /* (iii) read the accumulators now, before the update */
        int Bfull = net->batch * net->subdivisions;
        snprintf(w, sizeof(w), "  step %d: update due now ((seen/batch) %% subdivisions == 0), B = %d", k, Bfull);
        tu_check_true(w, ((*net->seen) / net->batch) % net->subdivisions == 0 && Bfull == B, "");
        double gsq = 0, wsq = 0;
        double **g = malloc(na * sizeof(double *));
        for(i = 0; i < na; ++i){
            g[i] = malloc(a[i].n * sizeof(double));
            for(j = 0; j < a[i].n; ++j){
                g[i][j] = -(double)a[i].updates[j] / Bfull + (a[i].decayed ? decay * a[i].param[j] : 0);
                gsq += g[i][j] * g[i][j];
                if(a[i].decayed) wsq += (double)a[i].param[j] * a[i].param[j];
            }
        }
        double L = ref_sum / Bfull + 0.5 * decay * wsq;
        size_t batch_num = (*net->seen) / (net->batch * net->subdivisions);
        double max_lr = lr;
        if(batch_num < (size_t)burn_in) max_lr = lr * pow((double)batch_num / burn_in, power);
        double unc = L / (gsq + eps);
        double step = unc < max_lr ? unc : max_lr;
        double **ref = malloc(na * sizeof(double *));
        for(i = 0; i < na; ++i){
            double cap = max_lr * a[i].lr_scale;
            double s = unc < cap ? unc : cap;
            ref[i] = malloc(a[i].n * sizeof(double));
            for(j = 0; j < a[i].n; ++j){
                double pj = (double)a[i].param[j] - s * g[i][j];
                if(mom > 0){
                    if(!form_adj){ rv[i][j] = mom * rv[i][j] - s * g[i][j]; pj += mom * rv[i][j]; }
                    else { rv[i][j] = mom * rv[i][j] - g[i][j]; pj += s * mom * rv[i][j]; }
                }
                ref[i][j] = pj;
            }
        }
        int projected = 0;
        if(max_norm > 0){
            double ss = 0;
            for(i = 0; i < na; ++i) for(j = 0; j < a[i].n; ++j) ss += ref[i][j] * ref[i][j];
            double nrm = sqrt(ss);
            if(nrm > max_norm){
                projected = 1;
                for(i = 0; i < na; ++i) for(j = 0; j < a[i].n; ++j) ref[i][j] *= max_norm / nrm;
            }
        }
        n_projected += projected;
        update_network(net);
        alig_result r = net->alig->last;
        snprintf(w, sizeof(w), "  step %d: loss L == mean true loss (+decay term) %.5g", k, L);
        tu_check(w, tu_rel(r.loss, L), RTOL);
        snprintf(w, sizeof(w), "  step %d: ||g||^2 from the *_updates read before the update %.5g", k, gsq);
        tu_check(w, tu_rel(r.grad_sq, gsq), RTOL);
        snprintf(w, sizeof(w), "  step %d: step == min(max_lr %.4g, L/(||g||^2+eps) %.4g) = %.5g", k, max_lr, unc, step);
        tu_check(w, tu_rel(r.step, step), RTOL);
        double worst = 0;
        int zero = 1;
        for(i = 0; i < na; ++i){
            double e = tu_array_rel(a[i].param, ref[i], a[i].n);
            if(e > worst) worst = e;
            for(j = 0; j < a[i].n; ++j) if(a[i].updates[j] != 0) zero = 0;
        }
        snprintf(w, sizeof(w), "  step %d: new weights (all %d arrays%s)", k, na,
                 max_norm > 0 ? (projected ? ", projection active" : ", projection inactive") : "");
        tu_check(w, worst, RTOL);
        snprintf(w, sizeof(w), "  step %d: *_updates zeroed by the update", k);
        tu_check_true(w, zero, "");
        for(i = 0; i < na; ++i){ free(g[i]); free(ref[i]); }
        free(g); free(ref); free(X); free(Y);
    }
    if(max_norm > 0){
        snprintf(w, sizeof(w), "  the projection was active at least once (%d of %d steps)", n_projected, nsteps);
        tu_check_true(w, n_projected > 0, "");
    }
    for(i = 0; i < na; ++i) free(rv[i]);
}

static void part_b(void)
{
    printf("Part B: networks with policy=alig\n");
    /* (i) */
    check_subdivisions(&NET_CONV, 8, 4, 0.02, 0.9, "nesterov", 0.0005, 0);
    check_subdivisions(&NET_CONV, 8, 2, 1e3, 0.5, "adjusted", 0, 1);
    check_subdivisions(&NET_HEADS, 6, 3, 1e3, 0, "nesterov", 0.001, 0);
    /* (ii) + (iii) */
    check_loss_and_step(&NET_BN, 6, 2, 0.05, 0.9, "nesterov", 0.001, 0, 1e-5, 0, 4, 2);
    check_loss_and_step(&NET_BN, 6, 3, 1e3, 0.7, "adjusted", 0, 1, 1e-3, 0, 4, 2);
    check_loss_and_step(&NET_HEADS, 6, 3, 0.5, 0.9, "nesterov", 0.002, 0, 1e-5, 4, 2, 2);
    check_loss_and_step(&NET_L1, 8, 2, 1e3, 0, "nesterov", 0, 0, 1e-5, 0, 4, 2);
    check_loss_and_step(&NET_L1, 4, 4, 0.01, 0.9, "adjusted", 0.01, 1, 1e-5, 0, 4, 2);
}

int main(void)
{
    tu_init("test_alig_step");
    part_a();
    part_b();
    return tu_finish();
}
