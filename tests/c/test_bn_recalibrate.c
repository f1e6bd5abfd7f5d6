/* Batch-norm re-estimation (src/bn_recalibrate.c), on a small network with
 * batch norm in a convolutional and a connected layer, fresh random data:
 *  1. the rolling mean/variance become the equal-weight average of the K
 *     batch means/variances, computed here in float64 from each batch's
 *     pre-normalisation outputs (unbiased variance, as Darknet's);
 *  2. parameters are bit-identical before and after;
 *  3. training with a save (which re-estimates, then puts the statistics
 *     back) in the middle gives bit-identical parameters and statistics to
 *     training without it, and the saved file holds the re-estimated ones. */
#include "darknet.h"
#include "bn_recalibrate.h"
#include "network.h"
#include "image.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int failures;
static char tmpdir[] = "/tmp/bnrecal.XXXXXX";

static const char *CFG =
"[net]\nbatch=16\nsubdivisions=1\nheight=8\nwidth=8\nchannels=3\nlearning_rate=0.05\nmomentum=0.9\n"
"decay=0\npolicy=constant\nmax_batches=100\n"
"[convolutional]\nbatch_normalize=1\nfilters=4\nsize=3\nstride=1\npad=1\nactivation=leaky\n"
"[connected]\nbatch_normalize=1\noutput=6\nactivation=leaky\n"
"[connected]\noutput=5\nactivation=linear\n[softmax]\n";

static network *make_net(void)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/net.cfg", tmpdir);
    FILE *f = fopen(path, "w");
    fputs(CFG, f);
    fclose(f);
    return parse_network_cfg(path);
}

static float rnd(void) { return (float)rand() / RAND_MAX; }

/* Batch source: random inputs; records each batch's statistics of the
 * layers' pre-normalisation outputs (l.x) left by the previous forward. */
typedef struct {
    network *net;
    int batches;
    double sum_mean[2][8], sum_var[2][8];
} source;

static const int bn_layers[2] = {0, 1};

static void record(source *s)
{
    int li, c, b, k;
    for(li = 0; li < 2; ++li){
        layer l = s->net->layers[bn_layers[li]];
        int spatial = l.out_h * l.out_w;
        for(c = 0; c < l.out_c; ++c){
            double m = 0, v = 0;
            for(b = 0; b < l.batch; ++b) for(k = 0; k < spatial; ++k) m += l.x[(b * l.out_c + c) * spatial + k];
            m /= l.batch * spatial;
            for(b = 0; b < l.batch; ++b) for(k = 0; k < spatial; ++k){
                double d = l.x[(b * l.out_c + c) * spatial + k] - m;
                v += d * d;
            }
            v /= l.batch * spatial - 1;
            s->sum_mean[li][c] += m;
            s->sum_var[li][c] += v;
        }
    }
}

static int next_batch(void *ctx, network *net)
{
    source *s = ctx;
    if(s->batches > 0) record(s);
    int i;
    for(i = 0; i < net->batch * net->inputs; ++i) net->input[i] = rnd();
    s->batches++;
    return 1;
}

static size_t params_bytes(network *net, unsigned char *out)
{
    size_t n = 0;
    int i;
    for(i = 0; i < net->n; ++i){
        layer l = net->layers[i];
        float *arrs[] = {l.weights, l.biases, l.scales};
        size_t lens[] = {l.nweights ? (size_t)l.nweights : (size_t)l.inputs * l.outputs, (size_t)l.outputs / (l.out_h * l.out_w > 0 ? l.out_h * l.out_w : 1), (size_t)l.out_c};
        int a;
        for(a = 0; a < 3; ++a){
            if(!arrs[a] || (l.type != CONVOLUTIONAL && l.type != CONNECTED)) continue;
            size_t bytes = lens[a] * sizeof(float);
            if(out) memcpy(out + n, arrs[a], bytes);
            n += bytes;
        }
    }
    return n;
}

static void check(int ok, const char *what)
{
    printf("%s %s\n", ok ? "ok" : "FAIL", what);
    if(!ok) failures++;
}

static void test_average(void)
{
    network *net = make_net();
    int i;
    /* move the rolling statistics away from their initial values */
    for(i = 0; i < net->layers[0].out_c; ++i) net->layers[0].rolling_mean[i] = 5;
    size_t nb = params_bytes(net, 0);
    unsigned char *before = malloc(nb), *after = malloc(nb);
    params_bytes(net, before);
    source s = {0};
    s.net = net;
    int K = 7;
    int used = bn_recalibrate(net, K, next_batch, &s);
    record(&s);   /* the last batch's outputs are still in l.x */
    check(used == K, "bn_recalibrate used all K batches");
    double worst = 0;
    int li, c;
    for(li = 0; li < 2; ++li){
        layer l = net->layers[bn_layers[li]];
        for(c = 0; c < l.out_c; ++c){
            double m = s.sum_mean[li][c] / K, v = s.sum_var[li][c] / K;
            double em = fabs(l.rolling_mean[c] - m) / (1e-6 + fabs(m));
            double ev = fabs(l.rolling_variance[c] - v) / (1e-6 + fabs(v));
            if(em > worst) worst = em;
            if(ev > worst) worst = ev;
        }
    }
    printf("   worst relative error of rolling mean/variance vs float64 average: %.3g (tolerance 1e-4)\n", worst);
    check(worst <= 1e-4, "rolling statistics = equal-weight average of the K batches' statistics");
    params_bytes(net, after);
    check(memcmp(before, after, nb) == 0, "parameters bit-identical before and after");
    free(before); free(after);
    free_network(net);
}

static void train_steps(network *net, data d, int steps)
{
    int i;
    for(i = 0; i < steps; ++i) train_network(net, d);
}

static void test_trajectory(void)
{
    char img_paths[4][300];
    char *paths[4];
    int i, j;
    for(i = 0; i < 4; ++i){
        image im = make_image(8, 8, 3);
        for(j = 0; j < 8 * 8 * 3; ++j) im.data[j] = rnd();
        char base[280];
        snprintf(base, sizeof(base), "%s/img%d", tmpdir, i);
        save_image(im, base);   /* writes base.jpg */
        snprintf(img_paths[i], sizeof(img_paths[i]), "%s.jpg", base);
        paths[i] = img_paths[i];
        free_image(im);
    }
    unsigned seed = rand();
    network *a = make_net();
    srand(seed); network *b = make_net();
    /* identical initial weights */
    char w0[300];
    snprintf(w0, sizeof(w0), "%s/init.weights", tmpdir);
    save_weights(a, w0);
    load_weights(b, w0);
    data d = {0};
    d.X = make_matrix(16, a->inputs);
    d.y = make_matrix(16, a->outputs);
    for(i = 0; i < 16; ++i){
        for(j = 0; j < a->inputs; ++j) d.X.vals[i][j] = rnd();
        d.y.vals[i][i % a->outputs] = 1;
    }
    train_steps(a, d, 3);
    train_steps(b, d, 3);
    /* b saves in the middle, with re-estimation */
    b->bn_recalibrate = 5;
    bn_recalibrate_use_paths(b, paths, 4);
    float stats_before[4];
    memcpy(stats_before, b->layers[0].rolling_mean, sizeof(stats_before));
    char mid[300];
    snprintf(mid, sizeof(mid), "%s/mid.weights", tmpdir);
    save_weights(b, mid);
    check(memcmp(stats_before, b->layers[0].rolling_mean, sizeof(stats_before)) == 0,
          "rolling statistics in memory unchanged by a save");
    /* the file holds the re-estimated statistics */
    network *c = make_net();
    load_weights(c, mid);
    check(memcmp(stats_before, c->layers[0].rolling_mean, sizeof(stats_before)) != 0,
          "saved file holds re-estimated statistics");
    train_steps(a, d, 3);
    train_steps(b, d, 3);
    size_t nb = params_bytes(a, 0);
    unsigned char *pa = malloc(nb), *pb = malloc(nb);
    params_bytes(a, pa);
    params_bytes(b, pb);
    check(memcmp(pa, pb, nb) == 0, "training with a re-estimating save in the middle: parameters bit-identical");
    check(memcmp(a->layers[1].rolling_variance, b->layers[1].rolling_variance, 6 * sizeof(float)) == 0,
          "... and rolling statistics bit-identical");
    free(pa); free(pb);
    free_data(d);
}

int main(void)
{
    unsigned seed = getenv("TEST_SEED") ? (unsigned)atoi(getenv("TEST_SEED")) : (unsigned)(time(0) ^ getpid());
    printf("seed %u\n", seed);
    srand(seed);
    if(!mkdtemp(tmpdir)){ perror("mkdtemp"); return 1; }
    test_average();
    test_trajectory();
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if(system(cmd)) {}
    printf("%d failure(s)\n", failures);
    return failures ? 1 : 0;
}
