#include "weights_io.h"
#include "robust.h"
#include "cfg_check.h"
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

FILE *weights_tmp_open(const char *final, char *tmp, size_t tmp_size)
{
    snprintf(tmp, tmp_size, "%s.tmp.%ld", final, (long)getpid());
    FILE *fp = fopen(tmp, "wb");
    if(!fp) robust_die("Cannot write weights file %s (temporary %s): %s", final, tmp, strerror(errno));
    return fp;
}

void weights_tmp_commit(FILE *fp, const char *tmp, const char *final)
{
    int bad = fflush(fp) != 0 || ferror(fp);
    int e = errno;
    if(!bad && fsync(fileno(fp)) != 0 && errno != EINVAL && errno != EROFS){ bad = 1; e = errno; }
    if(fclose(fp) != 0 && !bad){ bad = 1; e = errno; }
    if(!bad && rename(tmp, final) != 0){ bad = 1; e = errno; }
    if(bad){
        unlink(tmp);
        robust_die("Cannot write weights file %s: %s; the previous %s (if any) is unchanged", final, strerror(e), final);
    }
}

static size_t conv_floats(const layer *l)
{
    int n = l->numload ? l->numload : l->n;
    int groups = l->groups > 0 ? l->groups : 1;
    size_t f = n + (size_t)(l->c / groups) * n * l->size * l->size;
    if(l->batch_normalize && !l->dontloadscales) f += 3 * (size_t)n;
    return f;
}

static size_t connected_floats(const layer *l)
{
    size_t f = l->outputs + (size_t)l->outputs * l->inputs;
    if(l->batch_normalize && !l->dontloadscales) f += 3 * (size_t)l->outputs;
    return f;
}

size_t weights_layer_bytes(network *net, int start, int cutoff)
{
    size_t f = 0;
    int i, j;
    for(i = start; i < net->n && i < cutoff; ++i){
        layer *l = &net->layers[i];
        if(l->dontload) continue;
        switch(l->type){
            case CONVOLUTIONAL:
            case DECONVOLUTIONAL: f += conv_floats(l); break;
            case CONNECTED: f += connected_floats(l); break;
            case BATCHNORM: f += 3 * (size_t)l->c; break;
            case CRNN: f += conv_floats(l->input_layer) + conv_floats(l->self_layer) + conv_floats(l->output_layer); break;
            case RNN: f += connected_floats(l->input_layer) + connected_floats(l->self_layer) + connected_floats(l->output_layer); break;
            case LSTM: {
                layer *s[] = {l->wi, l->wf, l->wo, l->wg, l->ui, l->uf, l->uo, l->ug};
                for(j = 0; j < 8; ++j) f += connected_floats(s[j]);
                break;
            }
            case GRU: {
                layer *s[] = {l->wz, l->wr, l->wh, l->uz, l->ur, l->uh};
                for(j = 0; j < 6; ++j) f += connected_floats(s[j]);
                break;
            }
            case LOCAL: f += l->outputs + (size_t)l->size * l->size * l->c * l->n * l->out_w * l->out_h; break;
            default: break;
        }
    }
    return f * sizeof(float);
}

void weights_check_size(network *net, FILE *fp, const char *filename, int start, int cutoff)
{
    struct stat st;
    if(fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) return;    /* a pipe: cannot tell */
    long long have = st.st_size;
    int head[3] = {0, 0, 0};
    const char *nl = "\n";                 /* after upstream's "Loading weights from ..." */
    if(have < 12 || fread(head, sizeof(int), 3, fp) != 3){
        robust_die("%s%s: weights file has %lld bytes; even its header needs 12 (truncated or not a weights file)",
                   nl, filename, have);
    }
    int major = head[0], minor = head[1];
    long long header = 12 + (((major*10 + minor) >= 2 && major < 1000 && minor < 1000) ? sizeof(size_t) : sizeof(int));
    long long need = header + (long long)weights_layer_bytes(net, start, cutoff);
    if(have < need){
        robust_die("%s%s: weights file has %lld bytes but %s needs %lld (header %lld + layers %d..%d): "
                   "the file is truncated or was made for another cfg",
                   nl, filename, have, cfg_file(), need, header, start, (cutoff < net->n ? cutoff : net->n) - 1);
    }
    rewind(fp);
}
