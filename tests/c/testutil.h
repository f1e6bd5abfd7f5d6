#ifndef TESTUTIL_H
#define TESTUTIL_H
/* Shared helpers for the C tests in tests/c/ (header only: every test is one
 * translation unit linked against libdarknet.a).
 *
 *  - seeding: fresh seed per run from time and pid, printed; TEST_SEED=<n>
 *    reproduces a run. Darknet's own rand() is seeded with it too.
 *  - checks: every check prints one line with the measured error and its
 *    tolerance; tu_finish() returns the exit status (1 if any check failed).
 *  - networks: tu_parse_cfg() writes a .cfg text to a temporary file and
 *    parses it (stderr chatter of the parser is hidden unless TEST_VERBOSE).
 *  - arrays: tu_collect() lists every trainable array of a network with its
 *    accumulator, written from the layer constructors (make_*_layer), NOT
 *    from the ALI-G adapter, so that the two can be compared. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "darknet.h"
#include "alig.h"

#define TU_UNUSED __attribute__((unused))

/* ------------------------------------------------------------------ RNG */
static uint64_t tu_rng;
static unsigned long tu_seed;
static const char *tu_name = "test";
static int tu_n_checks, tu_n_failed, tu_n_xfail;

static TU_UNUSED uint64_t tu_next(void)
{
    uint64_t z = (tu_rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
/* uniform in [0, 1) */
static TU_UNUSED double tu_unif(void) { return (tu_next() >> 11) * (1.0 / 9007199254740992.0); }
static TU_UNUSED double tu_uniform(double a, double b) { return a + (b - a) * tu_unif(); }
static TU_UNUSED int tu_randint(int n) { return (int)(tu_unif() * n); }
static TU_UNUSED double tu_normal(void)
{
    double u = tu_unif(), v = tu_unif();
    if(u < 1e-300) u = 1e-300;
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

static TU_UNUSED void tu_init(const char *name)
{
    tu_name = name;
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *env = getenv("TEST_SEED");
    if(env && *env){
        tu_seed = strtoul(env, NULL, 0);
    } else {
        struct timeval tv;
        gettimeofday(&tv, NULL);
        tu_seed = ((unsigned long)tv.tv_sec * 1000003ul) ^ ((unsigned long)tv.tv_usec << 7) ^ ((unsigned long)getpid() << 16);
        tu_seed &= 0x7fffffff;
    }
    tu_rng = (uint64_t)tu_seed * 0x2545F4914F6CDD1Dull + 12345;
    srand((unsigned)tu_seed);
    printf("%s: seed %lu (reproduce with TEST_SEED=%lu)\n", name, tu_seed, tu_seed);
}

/* --------------------------------------------------------------- checks */
/* err <= tol passes; NaN never passes. Returns 1 on pass. */
static TU_UNUSED int tu_check(const char *what, double err, double tol)
{
    int ok = err <= tol;
    tu_n_checks++;
    if(!ok) tu_n_failed++;
    printf("  %-4s %-78s err %-10.3g tol %.3g\n", ok ? "ok" : "FAIL", what, err, tol);
    return ok;
}

/* A yes/no check; `detail` is printed after it. */
static TU_UNUSED int tu_check_true(const char *what, int cond, const char *detail)
{
    tu_n_checks++;
    if(!cond) tu_n_failed++;
    printf("  %-4s %-78s %s\n", cond ? "ok" : "FAIL", what, detail ? detail : "");
    return cond;
}

/* Expected failure of a KNOWN upstream bug (strict): `bug_seen` is what the
 * test measured. Seen -> XFAIL (does not fail the test, printed loudly).
 * Not seen -> the bug looks fixed: that FAILS, so that whoever fixed it turns
 * the check back into an ordinary one. */
static TU_UNUSED int tu_xfail(const char *what, int bug_seen, const char *bug)
{
    tu_n_checks++;
    if(bug_seen){
        tu_n_xfail++;
        printf("  XFAIL %-77s known upstream bug: %s\n", what, bug);
        return 1;
    }
    tu_n_failed++;
    printf("  FAIL %-78s XPASS: expected upstream bug not seen (fixed? make this an ordinary check): %s\n", what, bug);
    return 0;
}

static TU_UNUSED double tu_rel(double a, double ref)
{
    double d = fabs(a - ref), s = fabs(ref);
    if(isnan(a) != isnan(ref)) return INFINITY;
    if(isnan(a)) return 0;
    if(isinf(a) || isinf(ref)) return a == ref ? 0 : INFINITY;
    return s > 0 ? d / s : d;
}

/* Max over i of |a_i - ref_i| / max(|ref_i|, rms(ref)): relative error with
 * the array's RMS as a floor (an element that cancels to ~0 is judged
 * against the typical size of the array, not against itself). */
static TU_UNUSED double tu_array_rel(const float *a, const double *ref, size_t n)
{
    size_t i;
    double ss = 0, worst = 0;
    for(i = 0; i < n; ++i) ss += ref[i] * ref[i];
    double rms = n ? sqrt(ss / n) : 0;
    if(rms == 0) rms = 1e-30;
    for(i = 0; i < n; ++i){
        double s = fabs(ref[i]) > rms ? fabs(ref[i]) : rms;
        double e = fabs((double)a[i] - ref[i]) / s;
        if(!(e == e)) return INFINITY;
        if(e > worst) worst = e;
    }
    return worst;
}

static TU_UNUSED int tu_finish(void)
{
    printf("%s: %d checks, %d failed%s", tu_name, tu_n_checks, tu_n_failed, tu_n_xfail ? "" : "\n");
    if(tu_n_xfail) printf(", %d expected failures (known upstream bugs, see XFAIL lines)\n", tu_n_xfail);
    if(tu_n_failed) printf("%s: FAILED (seed %lu; rerun with TEST_SEED=%lu)\n", tu_name, tu_seed, tu_seed);
    fflush(stdout);
    return tu_n_failed ? 1 : 0;
}

/* ------------------------------------------------------------- networks */
static int tu_quiet_fd = -1;
static TU_UNUSED void tu_quiet_begin(void)
{
    if(getenv("TEST_VERBOSE")) return;
    fflush(stderr);
    tu_quiet_fd = dup(2);
    int devnull = open("/dev/null", O_WRONLY);
    if(devnull >= 0){ dup2(devnull, 2); close(devnull); }
}
static TU_UNUSED void tu_quiet_end(void)
{
    if(tu_quiet_fd < 0) return;
    fflush(stderr);
    dup2(tu_quiet_fd, 2);
    close(tu_quiet_fd);
    tu_quiet_fd = -1;
}

/* Parses a network from cfg text. A parser error exits the process (that is
 * upstream's and cfg_check's way); with TEST_VERBOSE set its message shows. */
static TU_UNUSED network *tu_parse_cfg(const char *text)
{
    char path[] = "/tmp/alig_test_XXXXXX";
    int fd = mkstemp(path);
    if(fd < 0){ perror("mkstemp"); exit(2); }
    size_t len = strlen(text);
    if(write(fd, text, len) != (ssize_t)len){ perror("write"); exit(2); }
    close(fd);
    tu_quiet_begin();
    network *net = parse_network_cfg(path);
    tu_quiet_end();
    unlink(path);
    return net;
}

/* ------------------------------------------------------ trainable arrays */
typedef struct {
    char name[80];
    int layer;          /* index in net->layers */
    float *param;
    float *updates;
    size_t n;
    int decayed;        /* weights: decay applies (as upstream's update does) */
    float lr_scale;     /* learning_rate of the top-level layer in the cfg */
} tu_array;

#define TU_MAX_ARRAYS 256

static TU_UNUSED void tu_push(tu_array *a, int *na, int li, const char *lname, const char *what,
                    float *p, float *u, size_t n, int decayed, float lr_scale)
{
    if(*na >= TU_MAX_ARRAYS){ fprintf(stderr, "too many arrays\n"); exit(2); }
    tu_array *x = &a[(*na)++];
    snprintf(x->name, sizeof(x->name), "L%d %s.%s", li, lname, what);
    x->layer = li; x->param = p; x->updates = u; x->n = n;
    x->decayed = decayed; x->lr_scale = lr_scale;
}

/* Sizes as the make_*_layer constructors allocate them. */
static TU_UNUSED void tu_collect_layer(tu_array *a, int *na, int li, const char *lname, const layer *l, float lr_scale)
{
    char sub[64];
    switch(l->type){
        case CONVOLUTIONAL:
            tu_push(a, na, li, lname, "weights", l->weights, l->weight_updates,
                    (size_t)(l->c / l->groups) * l->n * l->size * l->size, 1, lr_scale);
            tu_push(a, na, li, lname, "biases", l->biases, l->bias_updates, l->n, 0, lr_scale);
            if(l->batch_normalize) tu_push(a, na, li, lname, "scales", l->scales, l->scale_updates, l->n, 0, lr_scale);
            break;
        case DECONVOLUTIONAL:
            tu_push(a, na, li, lname, "weights", l->weights, l->weight_updates,
                    (size_t)l->c * l->n * l->size * l->size, 1, lr_scale);
            tu_push(a, na, li, lname, "biases", l->biases, l->bias_updates, l->n, 0, lr_scale);
            if(l->batch_normalize) tu_push(a, na, li, lname, "scales", l->scales, l->scale_updates, l->n, 0, lr_scale);
            break;
        case CONNECTED:
            tu_push(a, na, li, lname, "weights", l->weights, l->weight_updates, (size_t)l->inputs * l->outputs, 1, lr_scale);
            tu_push(a, na, li, lname, "biases", l->biases, l->bias_updates, l->outputs, 0, lr_scale);
            if(l->batch_normalize) tu_push(a, na, li, lname, "scales", l->scales, l->scale_updates, l->outputs, 0, lr_scale);
            break;
        case LOCAL:
            tu_push(a, na, li, lname, "weights", l->weights, l->weight_updates,
                    (size_t)l->c * l->n * l->size * l->size * l->out_h * l->out_w, 1, lr_scale);
            tu_push(a, na, li, lname, "biases", l->biases, l->bias_updates, l->outputs, 0, lr_scale);
            break;
        case BATCHNORM:
            tu_push(a, na, li, lname, "scales", l->scales, l->scale_updates, l->c, 0, lr_scale);
            tu_push(a, na, li, lname, "biases", l->biases, l->bias_updates, l->c, 0, lr_scale);
            break;
        case RNN: case CRNN: {
            const char *nm[] = {"input_layer", "self_layer", "output_layer"};
            layer *s[] = {l->input_layer, l->self_layer, l->output_layer};
            int i;
            for(i = 0; i < 3; ++i){ snprintf(sub, sizeof(sub), "%s.%s", lname, nm[i]); tu_collect_layer(a, na, li, sub, s[i], lr_scale); }
            break;
        }
        case GRU: {
            const char *nm[] = {"uz", "wz", "ur", "wr", "uh", "wh"};
            layer *s[] = {l->uz, l->wz, l->ur, l->wr, l->uh, l->wh};
            int i;
            for(i = 0; i < 6; ++i){ snprintf(sub, sizeof(sub), "%s.%s", lname, nm[i]); tu_collect_layer(a, na, li, sub, s[i], lr_scale); }
            break;
        }
        case LSTM: {
            const char *nm[] = {"wf", "wi", "wg", "wo", "uf", "ui", "ug", "uo"};
            layer *s[] = {l->wf, l->wi, l->wg, l->wo, l->uf, l->ui, l->ug, l->uo};
            int i;
            for(i = 0; i < 8; ++i){ snprintf(sub, sizeof(sub), "%s.%s", lname, nm[i]); tu_collect_layer(a, na, li, sub, s[i], lr_scale); }
            break;
        }
        default:
            break;
    }
}

static TU_UNUSED const char *tu_type_name(LAYER_TYPE t)
{
    switch(t){
        case CONVOLUTIONAL: return "conv";
        case DECONVOLUTIONAL: return "deconv";
        case CONNECTED: return "connected";
        case LOCAL: return "local";
        case BATCHNORM: return "batchnorm";
        case RNN: return "rnn";
        case CRNN: return "crnn";
        case GRU: return "gru";
        case LSTM: return "lstm";
        case SOFTMAX: return "softmax";
        case LOGXENT: return "logistic";
        case COST: return "cost";
        case ROUTE: return "route";
        case SHORTCUT: return "shortcut";
        case MAXPOOL: return "maxpool";
        case AVGPOOL: return "avgpool";
        default: return "layer";
    }
}

static TU_UNUSED int tu_collect(network *net, tu_array *a)
{
    int na = 0, i;
    for(i = 0; i < net->n; ++i){
        tu_collect_layer(a, &na, i, tu_type_name(net->layers[i].type), &net->layers[i], net->layers[i].learning_rate_scale);
    }
    return na;
}

/* Fresh random parameters: weights U(-w, w), biases U(-0.3, 0.3), scales
 * U(0.5, 1.5). */
static TU_UNUSED void tu_randomize_params(const tu_array *a, int na, double w)
{
    int i;
    size_t j;
    for(i = 0; i < na; ++i){
        const char *what = strrchr(a[i].name, '.');
        what = what ? what + 1 : a[i].name;
        for(j = 0; j < a[i].n; ++j){
            if(!strcmp(what, "weights")) a[i].param[j] = (float)tu_uniform(-w, w);
            else if(!strcmp(what, "scales")) a[i].param[j] = (float)tu_uniform(0.5, 1.5);
            else a[i].param[j] = (float)tu_uniform(-0.3, 0.3);
        }
    }
}

static TU_UNUSED double tu_param_norm(const tu_array *a, int na)
{
    double s = 0;
    int i;
    size_t j;
    for(i = 0; i < na; ++i) for(j = 0; j < a[i].n; ++j) s += (double)a[i].param[j] * a[i].param[j];
    return sqrt(s);
}

static TU_UNUSED void tu_zero_updates(const tu_array *a, int na)
{
    int i;
    for(i = 0; i < na; ++i) memset(a[i].updates, 0, a[i].n * sizeof(float));
}

/* --------------------------------------------------------- loss layers */
/* The adapter's list of arrays == the test's own list (tu_collect): same
 * param/accumulator pointers, sizes and decay, and with check_lr_scale the
 * same lr scale. `label` prefixes the check's name. */
static TU_UNUSED void tu_check_coverage(network *net, const char *label, int check_lr_scale)
{
    tu_array a[TU_MAX_ARRAYS];
    int na = tu_collect(net, a), i, k, ok = 1;
    char d[256] = "", w[160];
    alig_state *s = net->alig;
    if(!s || s->n_arrays != na){
        ok = 0;
        snprintf(d, sizeof(d), "(adapter %d arrays, test %d)", s ? s->n_arrays : -1, na);
    }
    for(i = 0; ok && i < na; ++i){
        int found = 0;
        for(k = 0; k < s->n_arrays; ++k){
            const alig_array *x = &s->arrays[k];
            if(x->param == a[i].param && x->grad_sum == a[i].updates && x->n == a[i].n &&
               !!x->decayed == a[i].decayed && (!check_lr_scale || x->lr_scale == a[i].lr_scale)) found = 1;
        }
        if(!found){ ok = 0; snprintf(d, sizeof(d), "(%s: missing or different in the adapter's list)", a[i].name); }
    }
    if(ok) snprintf(d, sizeof(d), "(%d arrays)", na);
    snprintf(w, sizeof(w), "%s%sadapter collects exactly the trainable arrays", label, *label ? ": " : "");
    tu_check_true(w, ok, d);
}

static TU_UNUSED const char *tu_cost_name(COST_TYPE t)
{
    switch(t){
        case SSE: return "sse";
        case L1: return "L1";
        case SMOOTH: return "smooth";
        case MASKED: return "masked";
        case SEG: return "seg";
        case WGAN: return "wgan";
    }
    return "?";
}

/* The input of layer i in a forward pass: layer i-1's output (chains only,
 * which is what the test networks use in front of their loss layers). */
static TU_UNUSED const float *tu_layer_input(network *net, int i)
{
    return i == 0 ? net->input : net->layers[i - 1].output;
}

/* Per-sample loss, in double, from the loss layer's input (logits or
 * predictions) and the truth: the loss whose negative gradient the layer's
 * delta is. Sample b of a pass; inputs laid out sample-major. */
static TU_UNUSED double tu_true_loss_sample(network *net, int li, int b)
{
    const layer *l = &net->layers[li];
    const float *x = tu_layer_input(net, li) + (size_t)b * l->inputs;
    const float *t = net->truth + (size_t)b * l->inputs;
    double sum = 0;
    int j;
    if(l->type == SOFTMAX){
        double mx = -INFINITY, z = 0;
        for(j = 0; j < l->inputs; ++j) if(x[j] > mx) mx = x[j];
        for(j = 0; j < l->inputs; ++j) z += exp((double)x[j] - mx);
        double lz = mx + log(z);
        for(j = 0; j < l->inputs; ++j) if(t[j] != 0) sum += -t[j] * ((double)x[j] - lz);
        return sum;
    }
    if(l->type == LOGXENT){
        for(j = 0; j < l->inputs; ++j){
            double v = x[j];
            /* -t log s(v) - (1-t) log(1 - s(v)), stably */
            double lsp = v > 0 ? -log1p(exp(-v)) : v - log1p(exp(v));       /* log s(v) */
            double lsn = v > 0 ? -v - log1p(exp(-v)) : -log1p(exp(v));      /* log(1-s(v)) */
            sum += -t[j] * lsp - (1 - t[j]) * lsn;
        }
        return sum;
    }
    if(l->type == COST){
        for(j = 0; j < l->inputs; ++j){
            double d = (double)t[j] - x[j];
            double ad = fabs(d);
            if(l->cost_type == L1) sum += ad;
            else if(l->cost_type == SMOOTH) sum += ad < 1 ? 0.5 * d * d : ad - 0.5;
            else sum += 0.5 * d * d;   /* sse */
        }
        return l->scale * sum;
    }
    return 0;
}

static TU_UNUSED int tu_is_loss_layer(const layer *l)
{
    return l->type == SOFTMAX || l->type == LOGXENT || l->type == COST;
}

/* Runs `fn(arg)` in a child process so that a crash (an upstream layer that
 * segfaults) is reported instead of ending the whole test. The child prints
 * its own check lines and reports through its exit status:
 *   TU_CHILD_PASS, TU_CHILD_FAIL, TU_CHILD_XFAIL_ONLY (passed with XFAILs);
 * a child that exits before tu_child_parsed() was called was refused at
 * parse time (cfg_fail / the adapter's exit). */
#define TU_CHILD_PASS 0
#define TU_CHILD_FAIL 10
enum { TU_RUN_PASS, TU_RUN_FAIL, TU_RUN_CRASH, TU_RUN_REFUSED };
static int tu_child_pipe = -1;

static TU_UNUSED void tu_child_parsed(void)
{
    if(tu_child_pipe >= 0){
        char c = 'P';
        if(write(tu_child_pipe, &c, 1) != 1){ /* parent gone */ }
    }
}

/* Returns TU_RUN_*; *detail gets a short description. */
static TU_UNUSED int tu_run_child(int (*fn)(void *), void *arg, int *xfails, char *detail, size_t dlen)
{
    int fds[2];
    if(pipe(fds) != 0){ perror("pipe"); exit(2); }
    fflush(stdout); fflush(stderr);
    pid_t pid = fork();
    if(pid < 0){ perror("fork"); exit(2); }
    if(pid == 0){
        close(fds[0]);
        tu_child_pipe = fds[1];
        tu_n_checks = tu_n_failed = tu_n_xfail = 0;
        alarm(120);   /* a hung case ends as SIGALRM, reported like a crash */
        int r = fn(arg);
        fflush(stdout); fflush(stderr);
        _exit(r ? TU_CHILD_FAIL : (tu_n_xfail > 0 ? 100 + (tu_n_xfail > 99 ? 99 : tu_n_xfail) : TU_CHILD_PASS));
    }
    close(fds[1]);
    char c = 0;
    ssize_t got;
    do { got = read(fds[0], &c, 1); } while(got < 0 && errno == EINTR);
    int parsed = got == 1;
    close(fds[0]);
    int st = 0;
    while(waitpid(pid, &st, 0) < 0 && errno == EINTR){}
    *xfails = 0;
    if(WIFSIGNALED(st)){
        snprintf(detail, dlen, "%s (signal %d)%s", parsed ? "crashed" : "crashed while parsing", WTERMSIG(st),
                 WTERMSIG(st) == SIGSEGV ? ", segmentation fault" : WTERMSIG(st) == SIGALRM ? ", timed out after 120 s" : "");
        return TU_RUN_CRASH;
    }
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 255;
    if(!parsed){
        snprintf(detail, dlen, "refused at parse time (exit %d)", code);
        return TU_RUN_REFUSED;
    }
    if(code == TU_CHILD_PASS){ snprintf(detail, dlen, "all checks passed"); return TU_RUN_PASS; }
    if(code >= 100){ *xfails = code - 100; snprintf(detail, dlen, "passed, with %d expected failure(s)", code - 100); return TU_RUN_PASS; }
    snprintf(detail, dlen, code == TU_CHILD_FAIL ? "checks failed" : "exited with status %d", code);
    return TU_RUN_FAIL;
}

#endif
