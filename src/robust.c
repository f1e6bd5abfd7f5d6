#include "robust.h"
#include "cfg_check.h"
#include "parser.h"
#include "network.h"
#include "alig_resume.h"
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void robust_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fflush(stdout);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

LAYER_TYPE string_to_layer_type(char *type);   /* parser.c */

/* ---- where in the cfg we are, for upstream's bare error() messages ---- */
static int ctx_layer = -2;            /* -2: not parsing; -1: [net] */
static const char *ctx_type = "";

void robust_cfg_done(void)
{
    ctx_layer = -2;
}

void robust_error(const char *msg)
{
    int e = errno;
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", msg ? msg : "error");
    size_t n = strlen(buf);
    while(n && (buf[n-1] == '\n' || buf[n-1] == '\r')) buf[--n] = 0;
    if(ctx_layer >= 0) robust_die("%s: layer %d %s: %s", cfg_file(), ctx_layer, ctx_type, buf);
    if(ctx_layer == -1) robust_die("%s: [net]: %s", cfg_file(), buf);
    if(e) robust_die("darknet: %s (%s)", buf, strerror(e));
    robust_die("darknet: %s", buf);
}

void robust_file_error(const char *path)
{
    robust_die("Couldn't open file: %s: %s", path ? path : "(null)", strerror(errno));
}

void robust_malloc_error(void)
{
    robust_die("darknet: out of memory");
}

static pthread_mutex_t die_lock = PTHREAD_MUTEX_INITIALIZER;

void robust_image_error(const char *path, const char *reason)
{
    /* Called from the loader threads: one message, one exit; the other
     * threads that fail at the same time wait here until the process ends. */
    pthread_mutex_lock(&die_lock);
    robust_die("Cannot load image \"%s\": truncated, unreadable or not an image (stb: %s)", path ? path : "(null)", reason ? reason : "unknown");
}

int robust_finite(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof(u));
    return ((u >> 23) & 0xff) != 0xff;     /* isfinite() is unreliable under -Ofast */
}

/* ---- lines ---- */
char *robust_fgetl(FILE *fp)
{
    char *line = 0;
    size_t cap = 0;
    ssize_t got = getline(&line, &cap, fp);
    if(got < 0){
        free(line);
        return 0;
    }
    size_t n = strlen(line);               /* a NUL byte ends the line */
    while(n && (line[n-1] == '\n' || line[n-1] == '\r')) line[--n] = 0;
    return line;
}

/* ---- cfg ---- */
void robust_cfg_line(const char *file, int line, const char *text, const char *why)
{
    robust_die("%s:%d: \"%s\": %s", file, line, text, why);
}

void robust_cfg_sections(int count, const char *first_type)
{
    if(count < 1 || !first_type) robust_die("%s: no [net] section and no layers (empty cfg?)", cfg_file());
    if(strcmp(first_type, "[net]") && strcmp(first_type, "[network]")){
        robust_die("%s: the first section is %s; it must be [net] or [network]", cfg_file(), first_type);
    }
    if(count < 2) robust_die("%s: no layers after [net]", cfg_file());
}

static void need(list *o, const char *section, const char *key, int def, int min)
{
    int v = cfg_find_int(o, section, key, def);
    if(v < min){
        char why[64];
        snprintf(why, sizeof(why), "must be >= %d", min);
        cfg_fail(section, key, option_find(o, (char *)key), why);
    }
}

static int count_items(const char *s)
{
    int n = 1;
    for(; *s; ++s) if(*s == ',') ++n;
    return n;
}

void robust_net_options(list *o)
{
    ctx_layer = -1;
    need(o, "net", "batch", 1, 1);
    need(o, "net", "subdivisions", 1, 1);
    need(o, "net", "time_steps", 1, 1);
    int batch = cfg_find_int(o, "net", "batch", 1);
    int subdivs = cfg_find_int(o, "net", "subdivisions", 1);
    if(subdivs > batch){
        char why[160];
        snprintf(why, sizeof(why), "is larger than batch=%d: each subdivision would get %d images "
                 "(batch is the total per update, subdivisions divides it)", batch, batch / subdivs);
        cfg_fail("net", "subdivisions", option_find(o, "subdivisions"), why);
    }
    need(o, "net", "height", 0, 0);
    need(o, "net", "width", 0, 0);
    need(o, "net", "channels", 0, 0);
    need(o, "net", "inputs", 0, 0);
    need(o, "net", "max_batches", 0, 0);
    robust_set_nonfinite_stop(cfg_find_int(o, "net", "nonfinite_stop", 1));

    char *policy = option_find(o, "policy");
    if(policy && strcmp(policy, "steps") == 0){
        char *steps = option_find(o, "steps");
        char *scales = option_find(o, "scales");
        if(!steps) cfg_fail("net", "steps", "", "policy=steps needs steps= (comma-separated iterations)");
        if(!scales) cfg_fail("net", "scales", "", "policy=steps needs scales= (one factor per step)");
        int ns = count_items(steps), nc = count_items(scales);
        if(ns != nc){
            char why[128];
            snprintf(why, sizeof(why), "has %d value%s but steps=%s has %d: give one scale per step",
                     nc, nc == 1 ? "" : "s", steps, ns);
            cfg_fail("net", "scales", scales, why);
        }
        const char *p = steps;
        while(1){
            char *end;
            errno = 0;
            long v = strtol(p, &end, 10);
            if(end == p || (*end && *end != ',') || errno || v < -2147483647L || v > 2147483647L) cfg_fail("net", "steps", steps, "not a list of iterations (integers)");
            if(!*end) break;
            p = end + 1;
        }
        p = scales;
        while(1){
            char *end;
            double v = strtod(p, &end);
            if(end == p || (*end && *end != ',') || !(v - v == 0)) cfg_fail("net", "scales", scales, "not a list of numbers");
            if(!*end) break;
            p = end + 1;
        }
    }
}

static void layer_fail(int index, const char *type, const char *key, const char *value, const char *why)
{
    if(key[0] == '(') robust_die("%s: layer %d %s: %s", cfg_file(), index, type, why);   /* not a key */
    robust_die("%s: layer %d %s %s=%s: %s", cfg_file(), index, type, key, value ? value : "", why);
}

static int layer_int(list *o, int index, const char *type, const char *key, int def, int min)
{
    char *v = option_find(o, (char *)key);
    if(!v) return def;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if(end == v || *end || errno || n > 2147483647L || n < -2147483647L) layer_fail(index, type, key, v, "not an integer");
    if(n < min){
        char why[64];
        snprintf(why, sizeof(why), "must be >= %d", min);
        layer_fail(index, type, key, v, why);
    }
    return (int)n;
}

/* A reference to an earlier layer: absolute, or negative = relative. */
static void layer_refs(list *o, int index, const char *type, const char *key, int many)
{
    char *v = option_find(o, (char *)key);
    if(!v || !*v){
        layer_fail(index, type, key, "", many ? "missing: name the layers to take (e.g. layers=-1,-4)"
                                              : "missing: name the layer to add (e.g. from=-3)");
    }
    const char *p = v;
    int n = 0;
    while(1){
        char *end;
        errno = 0;
        long r = strtol(p, &end, 10);
        if(end == p || (*end && *end != ',') || errno) layer_fail(index, type, key, v, "not a list of layer indexes");
        long abs_i = r < 0 ? index + r : r;
        if(abs_i < 0 || abs_i >= index){
            char why[128];
            snprintf(why, sizeof(why), "refers to layer %ld; only layers 0..%d come before this one", abs_i, index - 1);
            layer_fail(index, type, key, v, why);
        }
        ++n;
        if(!*end) break;
        p = end + 1;
    }
    if(!many && n != 1) layer_fail(index, type, key, v, "takes one layer");
}

static void out_size(int index, const char *type, int in, int pad2, int size, int stride, const char *dim)
{
    if((in + pad2 - size) / stride + 1 < 1 || in + pad2 - size < 0){
        char why[160], v[16];
        snprintf(why, sizeof(why), "the %s input %d (+%d padding) is smaller than the window %d: no output", dim, in, pad2, size);
        snprintf(v, sizeof(v), "%d", size);
        layer_fail(index, type, "size", v, why);
    }
}

/* Upstream asserts (abort) when a detection head does not fit the layer
 * before it, and writes anchors past its biases array. */
static void head_fits(int index, const char *type, long need, int in_inputs, const char *how)
{
    if(need != in_inputs){
        char why[256];
        snprintf(why, sizeof(why), "needs %ld inputs (%s) but the layer before outputs %d", need, how, in_inputs);
        layer_fail(index, type, "(input)", "", why);
    }
}

static void anchors_fit(list *o, int index, const char *type, int num)
{
    char *a = option_find(o, "anchors");
    if(!a) return;
    int n = 0;
    const char *p = a;
    while(1){
        char *end;
        double v = strtod(p, &end);
        if(end == p || !(v - v == 0)) layer_fail(index, type, "anchors", a, "not a list of numbers");
        while(*end == ' ' || *end == '\t') ++end;
        ++n;
        if(!*end) break;
        if(*end != ',') layer_fail(index, type, "anchors", a, "not a list of numbers");
        p = end + 1;
    }
    if(n > 2 * num){
        char why[128];
        snprintf(why, sizeof(why), "has %d values but num=%d takes at most %d (two per anchor)", n, num, 2 * num);
        layer_fail(index, type, "anchors", a, why);
    }
}

void robust_layer_section(list *o, const char *type, int index, int in_h, int in_w, int in_c, int in_inputs)
{
    ctx_layer = index;
    ctx_type = type;
    LAYER_TYPE lt = string_to_layer_type((char *)type);
    int image = in_h > 0 && in_w > 0 && in_c > 0;
    switch(lt){
        case CONVOLUTIONAL:
        case DECONVOLUTIONAL:
        case LOCAL: {
            int filters = layer_int(o, index, type, "filters", 1, 1);
            int size = layer_int(o, index, type, "size", 1, 1);
            int stride = layer_int(o, index, type, "stride", 1, 1);
            int pad = layer_int(o, index, type, "pad", 0, 0);
            int padding = layer_int(o, index, type, "padding", 0, 0);
            if(!image) layer_fail(index, type, "(input)", "", "the layer before does not output an image (h x w x c)");
            if(lt == CONVOLUTIONAL){
                int groups = layer_int(o, index, type, "groups", 1, 1);
                if(in_c % groups || filters % groups){
                    char why[128];
                    snprintf(why, sizeof(why), "must divide both the input channels (%d) and filters (%d)", in_c, filters);
                    layer_fail(index, type, "groups", option_find(o, "groups"), why);
                }
            }
            if(lt != DECONVOLUTIONAL){
                int p2 = lt == LOCAL ? (pad ? size - 1 : 0) : 2 * (pad ? size / 2 : padding);
                out_size(index, type, in_h, p2, size, stride, "height");
                out_size(index, type, in_w, p2, size, stride, "width");
            }
            break;
        }
        case MAXPOOL:
        case AVGPOOL: {
            if(!image) layer_fail(index, type, "(input)", "", "the layer before does not output an image (h x w x c)");
            if(lt == MAXPOOL){
                int stride = layer_int(o, index, type, "stride", 1, 1);
                int size = layer_int(o, index, type, "size", stride, 1);
                int padding = layer_int(o, index, type, "padding", size - 1, 0);
                out_size(index, type, in_h, padding, size, stride, "height");
                out_size(index, type, in_w, padding, size, stride, "width");
            }
            break;
        }
        case REORG:
            if(!image) layer_fail(index, type, "(input)", "", "the layer before does not output an image (h x w x c)");
            layer_int(o, index, type, "stride", 1, 1);
            break;
        case CROP:
            if(!image) layer_fail(index, type, "(input)", "", "the layer before does not output an image (h x w x c)");
            layer_int(o, index, type, "crop_height", 1, 1);
            layer_int(o, index, type, "crop_width", 1, 1);
            break;
        case UPSAMPLE: {
            int stride = layer_int(o, index, type, "stride", 2, -2147483647);
            if(stride == 0) layer_fail(index, type, "stride", option_find(o, "stride"), "must not be 0");
            if(!image) layer_fail(index, type, "(input)", "", "the layer before does not output an image (h x w x c)");
            break;
        }
        case CONNECTED:
        case RNN:
        case GRU:
        case LSTM:
            layer_int(o, index, type, "output", 1, 1);
            if(in_inputs < 1) layer_fail(index, type, "(input)", "", "the layer before has no outputs");
            break;
        case CRNN:
            layer_int(o, index, type, "output_filters", 1, 1);
            layer_int(o, index, type, "hidden_filters", 1, 1);
            if(!image) layer_fail(index, type, "(input)", "", "the layer before does not output an image (h x w x c)");
            break;
        case SOFTMAX: {
            int groups = layer_int(o, index, type, "groups", 1, 1);
            if(in_inputs < 1 || in_inputs % groups){
                char why[128];
                snprintf(why, sizeof(why), "must divide the layer's %d inputs", in_inputs);
                layer_fail(index, type, "groups", option_find(o, "groups"), why);
            }
            break;
        }
        case YOLO: {
            int classes = layer_int(o, index, type, "classes", 20, 1);
            int total = layer_int(o, index, type, "num", 1, 1);
            int n = total;
            char *m = option_find(o, "mask");
            if(m){
                const char *p = m;
                n = 0;
                while(1){
                    char *end;
                    errno = 0;
                    long v = strtol(p, &end, 10);
                    if(end == p || (*end && *end != ',') || errno || v < 0 || v >= total){
                        char why[96];
                        snprintf(why, sizeof(why), "must list anchor indexes 0..%d (num=%d)", total - 1, total);
                        layer_fail(index, type, "mask", m, why);
                    }
                    ++n;
                    if(!*end) break;
                    p = end + 1;
                }
            }
            if(!image) layer_fail(index, type, "(input)", "", "the layer before does not output an image (h x w x c)");
            char how[96];
            snprintf(how, sizeof(how), "filters=%d before it: %d anchors x (classes %d + 5)", n * (classes + 5), n, classes);
            head_fits(index, type, (long)in_h * in_w * n * (classes + 5), in_inputs, how);
            anchors_fit(o, index, type, total);
            break;
        }
        case REGION: {
            int coords = layer_int(o, index, type, "coords", 4, 0);
            int classes = layer_int(o, index, type, "classes", 20, 0);
            int num = layer_int(o, index, type, "num", 1, 1);
            if(!image) layer_fail(index, type, "(input)", "", "the layer before does not output an image (h x w x c)");
            char how[96];
            snprintf(how, sizeof(how), "filters=%d before it: num %d x (classes %d + coords %d + 1)",
                     num * (classes + coords + 1), num, classes, coords);
            head_fits(index, type, (long)in_h * in_w * num * (classes + coords + 1), in_inputs, how);
            anchors_fit(o, index, type, num);
            break;
        }
        case DETECTION: {
            int coords = layer_int(o, index, type, "coords", 1, 0);
            int classes = layer_int(o, index, type, "classes", 1, 0);
            int num = layer_int(o, index, type, "num", 1, 1);
            int side = layer_int(o, index, type, "side", 7, 1);
            char how[96];
            snprintf(how, sizeof(how), "side %d^2 x ((1 + coords %d) x num %d + classes %d)", side, coords, num, classes);
            head_fits(index, type, (long)side * side * ((1 + coords) * num + classes), in_inputs, how);
            break;
        }
        case ISEG: {
            int classes = layer_int(o, index, type, "classes", 20, 0);
            int ids = layer_int(o, index, type, "ids", 32, 0);
            if(!image) layer_fail(index, type, "(input)", "", "the layer before does not output an image (h x w x c)");
            char how[96];
            snprintf(how, sizeof(how), "filters=%d before it: classes %d + ids %d", classes + ids, classes, ids);
            head_fits(index, type, (long)in_h * in_w * (classes + ids), in_inputs, how);
            break;
        }
        case ROUTE:
            layer_refs(o, index, type, "layers", 1);
            break;
        case SHORTCUT:
            layer_refs(o, index, type, "from", 0);
            break;
        case DROPOUT:
        case COST:
            /* dropout shares the previous layer's buffers; the output layer
             * is the last layer that is not a cost layer (layers[-1] else). */
            if(index == 0) layer_fail(index, type, "(input)", "", "cannot be the first layer");
            break;
        case BLANK:
            robust_die("%s: layer %d: unknown section %s", cfg_file(), index, type);
        default:
            if(in_inputs < 1) layer_fail(index, type, "(input)", "", "the layer before has no outputs");
            break;
    }
}

/* ---- training ---- */
static int nonfinite_stop = 1;

void robust_set_nonfinite_stop(int on)
{
    nonfinite_stop = on;
}

void robust_train_begin(network *net, const char *cfgfile, const char *datafile, const char *listfile, int n)
{
    if(n <= 0){
        robust_die("%s: the training list %s (train= in %s) has no images", listfile, listfile, datafile);
    }
    if(net->max_batches <= 0){
        robust_die("%s: [net] max_batches is missing or 0: training would never stop, writing a weights "
                   "file every epoch. Set max_batches=N, the number of weight updates to train for "
                   "(one update = batch=%d images; %d images are one epoch here)",
                   cfgfile, net->batch * net->subdivisions, n);
    }
    alig_resume_forget_if_cleared(net);
}

void robust_train_classes(network *net, const char *datafile, const char *labelfile, int classes)
{
    if(classes < 1) robust_die("%s: classes=%d: must be >= 1", datafile, classes);
    if(net->outputs != classes){
        robust_die("%s: classes=%d but the network in %s has %d outputs: they must agree "
                   "(the last layer before [softmax] sets the outputs)", datafile, classes, cfg_file(), net->outputs);
    }
    if(!labelfile) return;
    FILE *fp = fopen(labelfile, "r");
    if(!fp) robust_file_error(labelfile);
    int n = 0;
    char *line;
    while((line = robust_fgetl(fp))){
        if(*line) ++n;
        free(line);
    }
    fclose(fp);
    if(n < classes){
        robust_die("%s: %d label%s but classes=%d in %s: give one label per class",
                   labelfile, n, n == 1 ? "" : "s", classes, datafile);
    }
}

void robust_check_loss(network *net, float loss)
{
    if(!nonfinite_stop || net->policy == ALIG || robust_finite(loss)) return;
    robust_die("%s: non-finite loss (%g) at iteration %ld with learning_rate %g: stopping before the "
               "weights are updated or saved; the last weights file saved is unchanged. Lower learning_rate "
               "(or add burn_in), or set nonfinite_stop=0 in [net] to go on anyway.",
               cfg_file(), loss, (long)get_current_batch(net), net->learning_rate);
}

static volatile sig_atomic_t stop_signal = 0;

static void on_signal(int sig)
{
    stop_signal = sig;
    signal(sig, SIG_DFL);          /* a second Ctrl-C ends the program at once */
}

void robust_catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, 0);
    sigaction(SIGTERM, &sa, 0);
}

int robust_stop_requested(void)
{
    return stop_signal != 0;
}

void robust_exit_if_stopped(network *net, const char *saved)
{
    if(!stop_signal) return;
    int sig = stop_signal;
    fprintf(stderr, "%s at iteration %ld: weights saved to %s; resume with the same command and that file\n",
            sig == SIGINT ? "Interrupted (SIGINT)" : "Terminated (SIGTERM)", (long)get_current_batch(net), saved);
    exit(128 + sig);
}
