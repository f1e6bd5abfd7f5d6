#include "detector_map.h"
#include "map_eval.h"
#include "darknet.h"
#include "robust.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAP_NMS 0.45f

/* Upstream's readers exit with a bare "Couldn't open file"; we say which
 * file of the evaluation it was. */
static void check_readable(const char *path, const char *what, const char *key, const char *datacfg)
{
    FILE *f = fopen(path, "r");
    if(f){ fclose(f); return; }
    if(key) robust_die("detector map: cannot open %s %s (%s= in %s): %s", what, path, key, datacfg, strerror(errno));
    robust_die("detector map: cannot open %s %s: %s", what, path, strerror(errno));
}

/* The label file of an image (out: 4096 bytes), by the rule of
 * fill_truth_detection (data.c), which is what training reads. */
static void label_path(char *image, char *out)
{
    static char *rules[][2] = {
        {"images", "labels"}, {"JPEGImages", "labels"}, {"raw", "labels"},
        {".jpg", ".txt"}, {".png", ".txt"}, {".JPG", ".txt"}, {".JPEG", ".txt"}
    };
    char tmp[4096];
    int i;
    /* find_replace writes into 4096-byte buffers; "raw" -> "labels" grows by 3. */
    if(strlen(image) > 4000) robust_die("detector map: image path too long (%zu bytes): %.80s...", strlen(image), image);
    strcpy(out, image);
    /* Not in place: find_replace copies its input over its output with
     * sprintf when nothing matches, which overlaps if they are one buffer. */
    for(i = 0; i < (int)(sizeof(rules) / sizeof(rules[0])); ++i){
        find_replace(out, rules[i][0], rules[i][1], tmp);
        strcpy(out, tmp);
    }
}

/* read_data_cfg's list: each key is the malloc'ed line, the value points into it. */
static void free_options(list *options)
{
    node *n;
    for(n = options->front; n; n = n->next){
        kvp *p = (kvp *)n->val;
        free(p->key);
        free(p);
    }
    free_list(options);
}

/* Classes of the network's detection layers, which must all agree. */
static int network_classes(network *net, const char *cfgfile)
{
    int i, classes = -1;
    for(i = 0; i < net->n; ++i){
        layer *l = &net->layers[i];
        if(l->type != YOLO && l->type != REGION && l->type != DETECTION) continue;
        if(classes >= 0 && l->classes != classes)
            robust_die("detector map: %s: detection layers disagree on classes (%d and %d at layer %d)", cfgfile, classes, l->classes, i);
        classes = l->classes;
    }
    if(classes < 0) robust_die("detector map: %s has no [yolo], [region] or [detection] layer", cfgfile);
    return classes;
}

/* Returns the number of boxes in the image's label file. */
static int add_truths(map_eval *e, int index, char *image, int classes, const char *datacfg)
{
    char labels[4096];
    int n = 0, i;
    label_path(image, labels);
    if(!strcmp(labels, image)) robust_die("detector map: no label file for image %s (its path has none of images/, JPEGImages/, raw/, .jpg, .png, .JPG, .JPEG to replace)", image);
    FILE *f = fopen(labels, "r");
    if(!f) robust_die("detector map: cannot open label file %s (for image %s): %s", labels, image, strerror(errno));
    fclose(f);
    box_label *b = read_boxes(labels, &n);
    for(i = 0; i < n; ++i){
        if(b[i].id < 0 || b[i].id >= classes)
            robust_die("detector map: label file %s: class %d out of range (classes=%d in %s)", labels, b[i].id, classes, datacfg);
        map_box mb = {b[i].x, b[i].y, b[i].w, b[i].h};
        if(map_eval_add_truth(e, index, b[i].id, mb))
            robust_die("detector map: label file %s: box %d (%g %g %g %g) is not a box", labels, i + 1, b[i].x, b[i].y, b[i].w, b[i].h);
    }
    free(b);
    return n;
}

static void add_detections(map_eval *e, network *net, int index, char *path, float thresh, int classes)
{
    int nboxes = 0, i, j;
    image im = load_image_color(path, 0, 0);
    image sized = letterbox_image(im, net->w, net->h);
    network_predict(net, sized.data);
    /* relative=1: boxes as fractions of the original image, like the labels */
    detection *dets = get_network_boxes(net, im.w, im.h, thresh, .5, 0, 1, &nboxes);
    do_nms_sort(dets, nboxes, classes, MAP_NMS);
    for(i = 0; i < nboxes; ++i){
        for(j = 0; j < classes; ++j){
            if(!(dets[i].prob[j] > 0)) continue;
            box b = dets[i].bbox;
            map_box mb = {b.x, b.y, b.w, b.h};
            /* A non-finite output is no detection (map_eval refuses it). */
            map_eval_add_detection(e, index, j, dets[i].prob[j], mb);
        }
    }
    free_detections(dets, nboxes);
    free_image(sized);
    free_image(im);
}

static void print_result(const map_result *r, char **names, float iou_thresh)
{
    int c, excluded = 0;
    printf("%5s  %-24s %8s %10s %8s %9s\n", "class", "name", "truths", "detections", "TP", "AP");
    for(c = 0; c < r->classes; ++c){
        char num[16];
        snprintf(num, sizeof(num), "%d", c);
        const char *name = names ? names[c] : num;
        if(r->has_truth[c]){
            printf("%5d  %-24s %8d %10d %8d %7.2f %%\n", c, name, r->truths[c], r->detections[c], r->tp[c], 100 * r->ap[c]);
        } else {
            printf("%5d  %-24s %8d %10d %8s %9s  (no ground truth: not in the mean)\n", c, name, 0, r->detections[c], "-", "-");
            ++excluded;
        }
    }
    if(excluded) printf("%d of %d classes have no ground truth and are left out of the mean\n", excluded, r->classes);
    printf("mAP@%.2f: %.6f (%.2f %%, mean over %d of %d classes)\n", iou_thresh, r->mean, 100 * r->mean, r->counted, r->classes);
}

void detector_map(char *datacfg, char *cfgfile, char *weightfile, float thresh, float iou_thresh)
{
    int i;
    if(!datacfg || !cfgfile || !weightfile){
        robust_die("usage: darknet detector map DATA CFG WEIGHTS [-thresh T] [-iou I]");
    }
    if(!(thresh >= 0 && thresh < 1)) robust_die("detector map: -thresh %g: must be in [0, 1)", thresh);
    if(!(iou_thresh > 0 && iou_thresh <= 1)) robust_die("detector map: -iou %g: must be in (0, 1]", iou_thresh);

    /* Every input is checked, and the truths read, before the network runs:
     * a missing file is reported at once, not after hours of inference. */
    check_readable(datacfg, "data file", 0, 0);
    list *options = read_data_cfg(datacfg);
    char *valid = option_find_str(options, "valid", 0);
    if(!valid) robust_die("detector map: %s has no valid= key (the list of images to evaluate)", datacfg);
    check_readable(valid, "image list", "valid", datacfg);
    list *plist = get_paths(valid);
    if(plist->size == 0) robust_die("detector map: image list %s (valid= in %s) has no images", valid, datacfg);
    char **paths = (char **)list_to_array(plist);
    int n = plist->size;
    free_list(plist);

    char *name_list = option_find_str(options, "names", 0);
    list *nlist = 0;
    char **names = 0;
    if(name_list){
        check_readable(name_list, "names file", "names", datacfg);
        nlist = get_paths(name_list);
        names = (char **)list_to_array(nlist);
    }

    check_readable(cfgfile, "cfg file", 0, 0);
    check_readable(weightfile, "weights file", 0, 0);
    network *net = load_network(cfgfile, weightfile, 0);
    set_batch_network(net, 1);
    int net_classes = network_classes(net, cfgfile);
    int classes = option_find_int(options, "classes", net_classes);
    if(classes != net_classes)
        robust_die("detector map: classes=%d in %s but the detection layers of %s have %d", classes, datacfg, cfgfile, net_classes);
    if(nlist && nlist->size < classes)
        robust_die("detector map: names file %s has %d names but classes=%d (%s)", name_list, nlist->size, classes, datacfg);

    map_eval *e = map_eval_create(classes);
    if(!e) robust_die("detector map: out of memory");
    int truths = 0;
    for(i = 0; i < n; ++i){
        FILE *f = fopen(paths[i], "rb");
        if(!f) robust_die("detector map: cannot open image %s (listed in %s): %s", paths[i], valid, strerror(errno));
        fclose(f);
        truths += add_truths(e, i, paths[i], classes, datacfg);
    }
    if(truths == 0)
        robust_die("detector map: the label files of the %d images in %s hold no boxes: mAP is undefined", n, valid);

    fprintf(stderr, "detector map: %d images from %s, %d classes, thresh %g, iou %g\n", n, valid, classes, thresh, iou_thresh);
    for(i = 0; i < n; ++i){
        add_detections(e, net, i, paths[i], thresh, classes);
        if((i + 1) % 100 == 0 && i + 1 < n) fprintf(stderr, "%d/%d images\n", i + 1, n);
    }

    map_result r;
    if(map_eval_compute(e, iou_thresh, &r)) robust_die("detector map: out of memory");
    print_result(&r, names, iou_thresh);

    map_result_free(&r);
    map_eval_free(e);
    free_network(net);
    if(nlist){
        for(i = 0; i < nlist->size; ++i) free(names[i]);
        free(names);
        free_list(nlist);
    }
    for(i = 0; i < n; ++i) free(paths[i]);
    free(paths);
    free_options(options);
}
