#include "bn_recalibrate.h"
#include "data.h"
#include "image.h"
#include "network.h"
#include "option_list.h"
#include "parser.h"
#include "utils.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every layer that normalises with rolling statistics, sub-layers included. */
static int collect_bn_layers(layer *l, layer **out, int n)
{
    int i, count = 0;
    layer *subs[8] = {0};
    int nsubs = 0;
    switch(l->type){
        case RNN: case CRNN:
            subs[0] = l->input_layer; subs[1] = l->self_layer; subs[2] = l->output_layer; nsubs = 3; break;
        case GRU:
            subs[0] = l->uz; subs[1] = l->wz; subs[2] = l->ur; subs[3] = l->wr; subs[4] = l->uh; subs[5] = l->wh; nsubs = 6; break;
        case LSTM:
            subs[0] = l->wf; subs[1] = l->wi; subs[2] = l->wg; subs[3] = l->wo;
            subs[4] = l->uf; subs[5] = l->ui; subs[6] = l->ug; subs[7] = l->uo; nsubs = 8; break;
        default:
            if((l->batch_normalize || l->type == BATCHNORM) && l->rolling_mean && l->rolling_variance){
                if(out) out[n] = l;
                return 1;
            }
            return 0;
    }
    for(i = 0; i < nsubs; ++i) if(subs[i]) count += collect_bn_layers(subs[i], out, n + count);
    return count;
}

static layer **bn_layers(network *net, int *count)
{
    int i, n = 0;
    for(i = 0; i < net->n; ++i) n += collect_bn_layers(&net->layers[i], 0, 0);
    *count = n;
    if(!n) return 0;
    layer **list = calloc(n, sizeof(layer *));
    int at = 0;
    for(i = 0; i < net->n; ++i) at += collect_bn_layers(&net->layers[i], list, at);
    return list;
}

struct bn_saved {
    int n;
    float **mean, **variance;
};

bn_saved *bn_save_rolling(network *net)
{
    int n, i;
    layer **ls = bn_layers(net, &n);
    bn_saved *s = calloc(1, sizeof(bn_saved));
    s->n = n;
    s->mean = calloc(n + 1, sizeof(float *));
    s->variance = calloc(n + 1, sizeof(float *));
    for(i = 0; i < n; ++i){
        size_t bytes = ls[i]->out_c * sizeof(float);
#ifdef GPU
        /* GPU training keeps the statistics on the device; the host copies
         * are stale until a save pulls them (after this). */
        if(net->gpu_index >= 0){
            cuda_pull_array(ls[i]->rolling_mean_gpu, ls[i]->rolling_mean, ls[i]->out_c);
            cuda_pull_array(ls[i]->rolling_variance_gpu, ls[i]->rolling_variance, ls[i]->out_c);
        }
#endif
        s->mean[i] = malloc(bytes);
        s->variance[i] = malloc(bytes);
        memcpy(s->mean[i], ls[i]->rolling_mean, bytes);
        memcpy(s->variance[i], ls[i]->rolling_variance, bytes);
    }
    free(ls);
    return s;
}

void bn_restore_rolling(network *net, bn_saved *s)
{
    if(!s) return;
    int n, i;
    layer **ls = bn_layers(net, &n);
    for(i = 0; i < n && i < s->n; ++i){
        size_t bytes = ls[i]->out_c * sizeof(float);
        memcpy(ls[i]->rolling_mean, s->mean[i], bytes);
        memcpy(ls[i]->rolling_variance, s->variance[i], bytes);
#ifdef GPU
        if(net->gpu_index >= 0){
            cuda_push_array(ls[i]->rolling_mean_gpu, ls[i]->rolling_mean, ls[i]->out_c);
            cuda_push_array(ls[i]->rolling_variance_gpu, ls[i]->rolling_variance, ls[i]->out_c);
        }
#endif
        free(s->mean[i]);
        free(s->variance[i]);
    }
    free(ls);
    free(s->mean);
    free(s->variance);
    free(s);
}

/* Layers that compute a loss from net.truth when training. */
static int is_loss_layer(LAYER_TYPE t)
{
    return t == YOLO || t == REGION || t == DETECTION || t == ISEG || t == COST
        || t == SOFTMAX || t == LOGXENT;
}

/* forward_network's loop with every layer in training mode (batch-norm uses
 * batch statistics) except the loss layers, which run in inference mode:
 * statistics only, no loss and no deltas (yolo, region and detection read
 * truths unchecked when training). */
static void forward_for_statistics(network *netp)
{
    network net = *netp;
    int i;
    net.truth = 0;
    for(i = 0; i < net.n; ++i){
        layer l = net.layers[i];
        net.index = i;
        net.train = !is_loss_layer(l.type);
        l.forward(l, net);
        net.input = l.output;
    }
}

int bn_recalibrate(network *net, int k, bn_batch_fn next_batch, void *ctx)
{
    int n, i, b, j;
    layer **ls = bn_layers(net, &n);
    if(!n || k <= 0) { free(ls); return 0; }
    double **sum_mean = calloc(n, sizeof(double *));
    double **sum_var = calloc(n, sizeof(double *));
    for(i = 0; i < n; ++i){
        sum_mean[i] = calloc(ls[i]->out_c, sizeof(double));
        sum_var[i] = calloc(ls[i]->out_c, sizeof(double));
    }
    int train = net->train;
    net->train = 1;
    int used = 0;
    for(b = 0; b < k; ++b){
        if(!next_batch(ctx, net)) break;
#ifdef GPU
        if(net->gpu_index >= 0){
            cuda_push_array(net->input_gpu, net->input, net->inputs*net->batch);
            forward_network_gpu(net);
            for(i = 0; i < n; ++i){
                cuda_pull_array(ls[i]->mean_gpu, ls[i]->mean, ls[i]->out_c);
                cuda_pull_array(ls[i]->variance_gpu, ls[i]->variance, ls[i]->out_c);
#ifdef CUDNN
                /* cuDNN's training forward leaves in variance_gpu its saved
                 * INVERSE standard deviation 1/sqrt(var + eps), var biased
                 * (eps .00001 in forward_batchnorm_layer_gpu). Back to the
                 * unbiased variance that the CPU path and the rolling
                 * average use. */
                {
                    double m = (double)ls[i]->batch * ls[i]->out_h * ls[i]->out_w;
                    for(j = 0; j < ls[i]->out_c; ++j){
                        double inv = ls[i]->variance[j];
                        double var = inv > 0 ? 1.0 / (inv * inv) - .00001 : 0;
                        if(var < 0) var = 0;
                        ls[i]->variance[j] = (float)(m > 1 ? var * m / (m - 1) : var);
                    }
                }
#endif
            }
        } else
#endif
        {
            forward_for_statistics(net);
        }
        for(i = 0; i < n; ++i){
            for(j = 0; j < ls[i]->out_c; ++j){
                sum_mean[i][j] += ls[i]->mean[j];
                sum_var[i][j] += ls[i]->variance[j];
            }
        }
        ++used;
    }
    net->train = train;
    for(i = 0; i < n; ++i){
        if(used){
            for(j = 0; j < ls[i]->out_c; ++j){
                ls[i]->rolling_mean[j] = sum_mean[i][j] / used;
                ls[i]->rolling_variance[j] = sum_var[i][j] / used;
            }
#ifdef GPU
            if(net->gpu_index >= 0){
                cuda_push_array(ls[i]->rolling_mean_gpu, ls[i]->rolling_mean, ls[i]->out_c);
                cuda_push_array(ls[i]->rolling_variance_gpu, ls[i]->rolling_variance, ls[i]->out_c);
            }
#endif
        }
        free(sum_mean[i]);
        free(sum_var[i]);
    }
    free(sum_mean);
    free(sum_var);
    free(ls);
    return used;
}

/* Training images drawn with a private generator, so that re-estimating
 * never consumes the rand() stream that training and its loader use. */
typedef struct {
    char **paths;
    int n;
    unsigned long long rng;
} path_source;

static path_source registered;
static network *registered_net;

static unsigned long long next_random(unsigned long long *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

static int next_image_batch(void *ctx, network *net)
{
    path_source *src = ctx;
    if(src->n <= 0) return 0;
    int i;
    for(i = 0; i < net->batch; ++i){
        char *path = src->paths[next_random(&src->rng) % src->n];
        image im = load_image_color(path, net->w, net->h);
        int ok = im.w * im.h * im.c == net->inputs;
        if(ok) memcpy(net->input + (size_t)i * net->inputs, im.data, net->inputs * sizeof(float));
        free_image(im);
        if(!ok){
            fprintf(stderr, "%s: image does not fit the network input (%d values)\n", path, net->inputs);
            return 0;
        }
    }
    return 1;
}

void bn_recalibrate_use_paths(network *net, char **paths, int n)
{
    registered.paths = paths;
    registered.n = n;
    registered.rng = 0x5eed;
    registered_net = net;
}

bn_saved *bn_recalibrate_before_save(network *net)
{
    if(net != registered_net || net->bn_recalibrate <= 0 || registered.n <= 0) return 0;
    bn_saved *saved = bn_save_rolling(net);
    if(saved->n == 0){ bn_restore_rolling(net, saved); return 0; }
    double start = what_time_is_it_now();
    int used = bn_recalibrate(net, net->bn_recalibrate, next_image_batch, &registered);
    fprintf(stderr, "Batch-norm statistics re-estimated over %d batches of %d (%.2f s)\n",
            used, net->batch, what_time_is_it_now() - start);
    return saved;
}

void bn_recalibrate_after_save(network *net, bn_saved *saved)
{
    if(saved) bn_restore_rolling(net, saved);
}

void bnstats_command(char *datacfg, char *cfgfile, char *weightfile, char *outfile)
{
    if(!weightfile){
        fprintf(stderr, "usage: darknet classifier|detector bnstats DATA CFG WEIGHTS [OUT]\n");
        exit(1);
    }
    network *net = load_network(cfgfile, weightfile, 0);
    list *options = read_data_cfg(datacfg);
    char *train_list = option_find_str(options, "train", "data/train.list");
    list *plist = get_paths(train_list);
    if(plist->size == 0){
        fprintf(stderr, "%s: train=%s lists no images\n", datacfg, train_list);
        exit(1);
    }
    path_source src = {(char **)list_to_array(plist), plist->size, 0x5eed};
    int k = net->bn_recalibrate > 0 ? net->bn_recalibrate : 50;
    int used = bn_recalibrate(net, k, next_image_batch, &src);
    if(used == 0){
        fprintf(stderr, "%s: no batch-norm layer, or no image could be loaded: nothing to do\n", cfgfile);
        exit(1);
    }
    char buff[1024];
    if(!outfile){
        snprintf(buff, sizeof(buff), "%s.bn", weightfile);
        outfile = buff;
    }
    fprintf(stderr, "Batch-norm statistics re-estimated over %d batches of %d\n", used, net->batch);
    save_weights(net, outfile);
}
