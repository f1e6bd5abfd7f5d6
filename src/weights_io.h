#ifndef WEIGHTS_IO_H
#define WEIGHTS_IO_H
/* Weights files: written atomically (a temporary file in the same folder,
 * flushed, then renamed over the target), and checked for size before a
 * load so that a truncated file is refused instead of half-loaded. */
#include <stdio.h>
#include "darknet.h"

/* Opens "<final>.tmp.<pid>" for writing; tmp receives its name. */
FILE *weights_tmp_open(const char *final, char *tmp, size_t tmp_size);
/* Flushes, closes and renames tmp to final; on any write error removes tmp,
 * leaves final as it was and exits 1 naming the file. */
void weights_tmp_commit(FILE *fp, const char *tmp, const char *final);

/* Bytes load_weights_upto(net, ..., start, cutoff) reads after the header. */
size_t weights_layer_bytes(network *net, int start, int cutoff);
/* Called right after fopen in load_weights_upto: refuses (exit 1) a file
 * shorter than its header plus what layers start..cutoff-1 need. Leaves
 * the file position at 0. */
void weights_check_size(network *net, FILE *fp, const char *filename, int start, int cutoff);

#endif
