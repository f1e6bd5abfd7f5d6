#ifndef LABEL_MATCH_H
#define LABEL_MATCH_H
/* Which classifier label an image path carries. Upstream matches every
 * label as a substring of the whole path, so `shirt` matches `tshirt` and a
 * label `rain` matches the folder `train/`. Here a label that equals a token
 * of the file name (split at '_', '-', '.', ' ') wins; only when no token
 * names a label do we fall back to upstream's substring rule. */

/* Sets truth[i] = 1 for each matching label (truth must be zeroed);
 * returns how many matched. */
int label_match_truth(const char *path, char **labels, int k, float *truth);
/* The first matching label's index, or -1. */
int label_match_index(const char *path, char **labels, int k);

#endif
