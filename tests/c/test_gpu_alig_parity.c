/* ALI-G on the GPU (src/alig_cuda.cu through alig_darknet.c) against the CPU
 * path (src/alig.c), same networks, weights and data.
 *
 * For each network (conv + batch-norm + connected(+batch-norm) + softmax):
 *   end-to-end: K steps of train_network_datum on a CPU network and on a GPU
 *     network that start from the same weights; afterwards every trainable
 *     array and every momentum buffer must agree to 1e-4 (relative, against
 *     the array's RMS as floor), and so must the steps taken;
 *   optimizer only: one more forward/backward on the GPU, its accumulators,
 *     weights, momentum and loss copied to the CPU network, then one step on
 *     each: the two steps see identical inputs, so weights, momentum and step
 *     must agree to 1e-5 (only summation order and fused multiply-adds
 *     differ), and the GPU accumulators must be zero;
 *   non-finite: a NaN loss: both skip, nothing moves, accumulators zeroed.
 * Cases: nesterov momentum; subdivisions; projection (radius below the
 * weights' norm, so it acts every step); adjusted momentum with decay,
 * burn-in and a per-layer learning_rate (both clipped and unclipped steps in
 * one update); no momentum with unclipped steps and projection.
 *
 * Without a GPU: "skipped: no GPU" (exit 77). See test_gpu_driver.h. */
#ifndef GPU
#include "test_gpu_driver.h"
TG_MAIN("test_gpu_alig_parity", "tests/c/test_gpu_alig_parity.c")
#else

#include "testutil.h"
#include "alig.h"
#include "alig_darknet.h"
#include "alig_cuda_darknet.h"
#include "cuda.h"

#define K_STEPS 4
#define RTOL_E2E 1e-4
#define RTOL_OPT 1e-5

typedef struct {
    float *h, *d;       /* host array and its device twin */
    size_t n;
    char name[48];
} twin;

#define MAX_TWINS 64

static void add_twin(twin *t, int *n, float *h, float *d, size_t len, int li, const char *what)
{
    if(!h || !d || !len) return;
    if(*n >= MAX_TWINS){ fprintf(stderr, "too many arrays\n"); exit(2); }
    t[*n].h = h; t[*n].d = d; t[*n].n = len;
    snprintf(t[*n].name, sizeof(t[*n].name), "L%d %s", li, what);
    ++*n;
}

/* Parameters and accumulators of conv / connected layers, in layer order
 * (the same order as the adapter's and tu_collect's). */
static int twins(network *net, twin *p, twin *u)
{
    int i, np = 0, nu = 0;
    for(i = 0; i < net->n; ++i){
        layer *l = &net->layers[i];
        if(l->type == CONVOLUTIONAL){
            add_twin(p, &np, l->weights, l->weights_gpu, l->nweights, i, "conv.weights");
            add_twin(u, &nu, l->weight_updates, l->weight_updates_gpu, l->nweights, i, "conv.weight_updates");
            add_twin(p, &np, l->biases, l->biases_gpu, l->n, i, "conv.biases");
            add_twin(u, &nu, l->bias_updates, l->bias_updates_gpu, l->n, i, "conv.bias_updates");
            if(l->batch_normalize){
                add_twin(p, &np, l->scales, l->scales_gpu, l->n, i, "conv.scales");
                add_twin(u, &nu, l->scale_updates, l->scale_updates_gpu, l->n, i, "conv.scale_updates");
            }
        } else if(l->type == CONNECTED){
            size_t nw = (size_t)l->inputs * l->outputs;
            add_twin(p, &np, l->weights, l->weights_gpu, nw, i, "connected.weights");
            add_twin(u, &nu, l->weight_updates, l->weight_updates_gpu, nw, i, "connected.weight_updates");
            add_twin(p, &np, l->biases, l->biases_gpu, l->outputs, i, "connected.biases");
            add_twin(u, &nu, l->bias_updates, l->bias_updates_gpu, l->outputs, i, "connected.bias_updates");
            if(l->batch_normalize){
                add_twin(p, &np, l->scales, l->scales_gpu, l->outputs, i, "connected.scales");
                add_twin(u, &nu, l->scale_updates, l->scale_updates_gpu, l->outputs, i, "connected.scale_updates");
            }
        }
    }
    if(np != nu){ fprintf(stderr, "twins: %d params, %d accumulators\n", np, nu); exit(2); }
    return np;
}

static void pull_twins(twin *t, int n) { int i; for(i = 0; i < n; ++i) cuda_pull_array(t[i].d, t[i].h, t[i].n); }
static void push_twins(twin *t, int n) { int i; for(i = 0; i < n; ++i) cuda_push_array(t[i].d, t[i].h, t[i].n); }

static double *to_double(const float *x, size_t n)
{
    double *d = malloc((n ? n : 1) * sizeof(double));
    size_t i;
    for(i = 0; i < n; ++i) d[i] = x[i];
    return d;
}

/* Worst relative difference over the arrays (GPU vs CPU as reference). */
static double worst_rel(twin *g, twin *c, int n, const char **where)
{
    double worst = 0;
    int i;
    for(i = 0; i < n; ++i){
        double *ref = to_double(c[i].h, c[i].n);
        double e = tu_array_rel(g[i].h, ref, g[i].n);
        free(ref);
        if(!(e <= worst)){ worst = e; *where = c[i].name; }
    }
    return worst;
}

static double worst_velocity(alig_state *g, alig_state *c)
{
    double worst = 0;
    int i;
    if(g->n_arrays != c->n_arrays) return INFINITY;
    for(i = 0; i < c->n_arrays; ++i){
        if(!c->arrays[i].velocity) continue;
        if(!g->arrays[i].velocity || g->arrays[i].n != c->arrays[i].n) return INFINITY;
        double *ref = to_double(c->arrays[i].velocity, c->arrays[i].n);
        double e = tu_array_rel(g->arrays[i].velocity, ref, c->arrays[i].n);
        free(ref);
        if(!(e <= worst)) worst = e;
    }
    return worst;
}

typedef struct {
    const char *name;
    const char *net_lines;      /* extra [net] lines */
    const char *connected_lines;/* extra lines of the hidden [connected] */
    int subdivisions;
    int project;                /* set alig_max_norm to 0.98 x the initial norm */
} pcase;

static char *cfg_text(const pcase *pc)
{
    static char buf[4096];
    snprintf(buf, sizeof(buf),
        "[net]\nbatch=16\nsubdivisions=%d\nheight=12\nwidth=12\nchannels=3\n"
        "policy=alig\nbn_recalibrate=0\n%s\n\n"
        "[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=1\npad=1\nactivation=leaky\n\n"
        "[maxpool]\nsize=2\nstride=2\n\n"
        "[connected]\noutput=24\nbatch_normalize=1\nactivation=leaky\n%s\n\n"
        "[connected]\noutput=10\nactivation=linear\n\n"
        "[softmax]\n",
        pc->subdivisions, pc->net_lines, pc->connected_lines);
    return buf;
}

static void fill_batch(network *a, network *b)
{
    int i, k;
    size_t n_in = (size_t)a->inputs * a->batch;
    for(i = 0; i < (int)n_in; ++i) a->input[i] = (float)tu_unif();
    memset(a->truth, 0, (size_t)a->truths * a->batch * sizeof(float));
    for(k = 0; k < a->batch; ++k) a->truth[(size_t)k * a->truths + tu_randint(a->truths)] = 1;
    memcpy(b->input, a->input, n_in * sizeof(float));
    memcpy(b->truth, a->truth, (size_t)a->truths * a->batch * sizeof(float));
}

static void run_case(const pcase *pc)
{
    char what[160];
    printf("case %s\n", pc->name);
    gpu_index = -1;
    network *cpu = tu_parse_cfg(cfg_text(pc));
    gpu_index = 0;
    network *gpu = tu_parse_cfg(cfg_text(pc));
    tu_check_true("GPU network steps on the device", alig_darknet_on_gpu(gpu) && !alig_darknet_on_gpu(cpu), "");

    twin cp[MAX_TWINS], cu[MAX_TWINS], gp[MAX_TWINS], gu[MAX_TWINS];
    int n = twins(cpu, cp, cu), i;
    if(twins(gpu, gp, gu) != n){ tu_check_true("same arrays", 0, ""); return; }
    tu_array ta[TU_MAX_ARRAYS];
    int na = tu_collect(cpu, ta);
    tu_randomize_params(ta, na, 0.4);
    for(i = 0; i < n; ++i) memcpy(gp[i].h, cp[i].h, cp[i].n * sizeof(float));
    push_twins(gp, n);
    if(pc->project){
        float radius = (float)(0.98 * tu_param_norm(ta, na));
        cpu->alig->cfg.max_norm = radius;
        gpu->alig->cfg.max_norm = radius;
    }

    /* end-to-end */
    double worst_step = 0;
    int s, sub;
    for(s = 0; s < K_STEPS; ++s){
        for(sub = 0; sub < pc->subdivisions; ++sub){
            fill_batch(cpu, gpu);
            train_network_datum(cpu);
            train_network_datum(gpu);
        }
        double e = tu_rel(gpu->alig->last.step, cpu->alig->last.step);
        if(!(e <= worst_step)) worst_step = e;
    }
    snprintf(what, sizeof(what), "%s: %d steps: step sizes (last %.4g)", pc->name, K_STEPS, cpu->alig->last.step);
    tu_check(what, worst_step, RTOL_E2E);
    tu_check_true("steps taken equal", cpu->alig->steps_taken == K_STEPS && gpu->alig->steps_taken == K_STEPS, "");
    pull_twins(gp, n);
    const char *where = "";
    double e = worst_rel(gp, cp, n, &where);
    snprintf(what, sizeof(what), "%s: weights after %d steps (worst: %s)", pc->name, K_STEPS, where);
    tu_check(what, e, RTOL_E2E);
    if(cpu->alig->cfg.momentum > 0){
        tu_check_true("momentum mirror copied from the device", alig_darknet_gpu_velocity_to_host(gpu), "");
        snprintf(what, sizeof(what), "%s: momentum after %d steps", pc->name, K_STEPS);
        tu_check(what, worst_velocity(gpu->alig, cpu->alig), RTOL_E2E);
    }

    /* optimizer only: identical inputs to both steps */
    fill_batch(cpu, gpu);
    *gpu->seen += gpu->batch;
    gpu->train = 1;
    forward_network(gpu);
    backward_network(gpu);
    alig_darknet_add_loss(gpu);
    pull_twins(gp, n);
    pull_twins(gu, n);
    for(i = 0; i < n; ++i){
        memcpy(cp[i].h, gp[i].h, cp[i].n * sizeof(float));
        memcpy(cu[i].h, gu[i].h, cu[i].n * sizeof(float));
    }
    if(cpu->alig->cfg.momentum > 0){
        alig_darknet_gpu_velocity_to_host(gpu);
        for(i = 0; i < cpu->alig->n_arrays; ++i){
            memcpy(cpu->alig->arrays[i].velocity, gpu->alig->arrays[i].velocity, cpu->alig->arrays[i].n * sizeof(float));
        }
    }
    cpu->alig->loss_sum = gpu->alig->loss_sum;
    *cpu->seen = *gpu->seen;
    alig_darknet_update(cpu);
    alig_darknet_update(gpu);
    snprintf(what, sizeof(what), "%s: one step on identical inputs: step size", pc->name);
    tu_check(what, tu_rel(gpu->alig->last.step, cpu->alig->last.step), RTOL_OPT);
    snprintf(what, sizeof(what), "%s: one step on identical inputs: ||g||^2", pc->name);
    tu_check(what, tu_rel(gpu->alig->last.grad_sq, cpu->alig->last.grad_sq), RTOL_OPT);
    pull_twins(gp, n);
    pull_twins(gu, n);
    e = worst_rel(gp, cp, n, &where);
    snprintf(what, sizeof(what), "%s: one step on identical inputs: weights (worst: %s)", pc->name, where);
    tu_check(what, e, RTOL_OPT);
    if(cpu->alig->cfg.momentum > 0){
        alig_darknet_gpu_velocity_to_host(gpu);
        snprintf(what, sizeof(what), "%s: one step on identical inputs: momentum", pc->name);
        tu_check(what, worst_velocity(gpu->alig, cpu->alig), RTOL_OPT);
    }
    int zero = 1;
    size_t j;
    for(i = 0; i < n; ++i) for(j = 0; j < gu[i].n; ++j) if(gu[i].h[j] != 0) zero = 0;
    tu_check_true("GPU accumulators zeroed after the step", zero, "");

    /* non-finite loss: both skip, nothing moves, accumulators zeroed */
    fill_batch(cpu, gpu);
    *gpu->seen += gpu->batch;
    forward_network(gpu);
    backward_network(gpu);
    pull_twins(gp, n);
    float **before = calloc((size_t)(n > 0 ? n : 1), sizeof(float *));
    for(i = 0; i < n; ++i){ before[i] = malloc(gp[i].n * sizeof(float)); memcpy(before[i], gp[i].h, gp[i].n * sizeof(float)); }
    long skipped = gpu->alig->skipped_total;
    gpu->alig->loss_sum = NAN;
    tu_quiet_begin();
    alig_darknet_update(gpu);
    tu_quiet_end();
    pull_twins(gp, n);
    pull_twins(gu, n);
    int same = 1;
    zero = 1;
    for(i = 0; i < n; ++i){
        if(memcmp(before[i], gp[i].h, gp[i].n * sizeof(float))) same = 0;
        for(j = 0; j < gu[i].n; ++j) if(gu[i].h[j] != 0) zero = 0;
        free(before[i]);
    }
    free(before);
    tu_check_true("NaN loss: step skipped and counted", gpu->alig->last.skipped && gpu->alig->skipped_total == skipped + 1
            && gpu->alig->skipped_in_row == 1, "");
    tu_check_true("NaN loss: weights unchanged, accumulators zeroed", same && zero, "");
}

int main(void)
{
    tu_init("test_gpu_alig_parity");
    /* TF32 would change the forward/backward of cuBLAS/cuDNN on Ampere+. */
    setenv("NVIDIA_TF32_OVERRIDE", "0", 1);
    int count = 0;
    if(cudaGetDeviceCount(&count) != cudaSuccess || count < 1){
        printf("test_gpu_alig_parity: skipped: no GPU (CUDA sees none)\n");
        return 77;
    }
    cuda_set_device(0);
    static const pcase cases[] = {
        {"nesterov", "learning_rate=0.05\nmomentum=0.9", "", 1, 0},
        {"subdivisions=4", "learning_rate=0.05\nmomentum=0.9", "", 4, 0},
        {"projection", "learning_rate=0.05\nmomentum=0.9", "", 1, 1},
        /* max_lr 5: the step is L/||g||^2 (unclipped) except on the layer
         * whose learning_rate scale 0.01 caps it at 0.05 */
        {"adjusted+decay+burn_in+layer lr", "learning_rate=5\nmomentum=0.8\nalig_momentum=adjusted\ndecay=0.0005\nburn_in=3",
            "learning_rate=0.01", 2, 0},
        {"no momentum, unclipped, projection", "learning_rate=5\nmomentum=0", "", 1, 1},
    };
    size_t i;
    for(i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) run_case(&cases[i]);
    return tu_finish();
}
#endif
