#ifndef ALIG_RESUME_H
#define ALIG_RESUME_H
/* ALI-G's momentum buffers beside the weights: "<weights>.alig", a small
 * versioned sidecar, so that training resumed from a weights file continues
 * exactly. Written atomically after the weights; read after them. */
#include "darknet.h"

#define ALIG_SIDECAR_VERSION 1

/* After save_weights_upto(net, filename, cutoff): only for full saves. */
void alig_resume_save(network *net, const char *filename, int cutoff);
/* After load_weights_upto(net, filename, start, cutoff): restores the
 * buffers if the sidecar matches this network and these weights (same
 * array sizes, same images seen); otherwise says why momentum starts at 0. */
void alig_resume_load(network *net, const char *filename, int start, int cutoff);

/* Training that starts at 0 images seen (-clear) does not continue the
 * run the weights came from: momentum restored from a sidecar is dropped. */
void alig_resume_forget_if_cleared(network *net);

#endif
