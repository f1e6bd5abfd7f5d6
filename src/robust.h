#ifndef ROBUST_H
#define ROBUST_H
/* Bad input never crashes and never exits 0 (issue 6). Upstream's fatal
 * helpers, its line reader and its cfg parser call into this file through
 * small hook patches (patches/02xx). Every fatal path prints what was wrong,
 * naming the file (and section, key, line where known), and exits 1. */
#include <stdio.h>
#include "darknet.h"
#include "option_list.h"

void robust_die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* utils.c error(), file_error(), malloc_error(); image.c's failed load. */
void robust_error(const char *msg) __attribute__((noreturn));
void robust_file_error(const char *path) __attribute__((noreturn));
void robust_malloc_error(void) __attribute__((noreturn));
void robust_image_error(const char *path, const char *reason) __attribute__((noreturn));

/* utils.c fgetl(): one line without its "\n" or "\r\n" (Windows files);
 * stops at a NUL byte instead of reading before the buffer; 0 at EOF. */
char *robust_fgetl(FILE *fp);

/* parser.c read_cfg(): a line that is not "key=value", or an option before
 * the first [section]. */
void robust_cfg_line(const char *file, int line, const char *text, const char *why) __attribute__((noreturn));
/* parse_network_cfg(): [net] first and at least one layer. */
void robust_cfg_sections(int count, const char *first_type);
/* Start of parse_net_options(): batch, subdivisions, time_steps, input
 * size and the steps policy's lists, before upstream divides by them. */
void robust_net_options(list *options);
/* Each layer section, before upstream parses it: layer references (route
 * layers=, shortcut from=) and the sizes upstream divides by. `in_*` is the
 * previous layer's output. Unknown section names are refused. */
void robust_layer_section(list *options, const char *type, int index, int in_h, int in_w, int in_c, int in_inputs);
/* Clears the layer context once the cfg is parsed. */
void robust_cfg_done(void);

/* Training: refuse an empty list and a run that would never stop; with
 * -clear (0 images seen) drop ALI-G momentum restored from a sidecar. */
void robust_train_begin(network *net, const char *cfgfile, const char *datafile, const char *listfile, int n);
/* Classifier training: classes= must equal the network's outputs and the
 * labels file (if any) must name at least that many classes; upstream read
 * past both arrays. */
void robust_train_classes(network *net, const char *datafile, const char *labelfile, int classes);
/* After each forward/backward (train_network_datum): a non-finite loss with
 * a non-alig policy stops (nonfinite_stop=0 in [net] turns this off). */
void robust_check_loss(network *net, float loss);
void robust_set_nonfinite_stop(int on);

/* SIGINT/SIGTERM: the first one asks training to stop after the current
 * iteration and save; a second one kills at once. */
void robust_catch_signals(void);
int robust_stop_requested(void);
/* After the final save: exit 128+signal if a signal stopped training. */
void robust_exit_if_stopped(network *net, const char *saved);

int robust_finite(float x);

#endif
