#ifndef CFG_CHECK_H
#define CFG_CHECK_H
/* Strict reading of .cfg values: a bad value stops the program with a
 * message naming the file, section, key and value, and a non-zero exit. */
#include "option_list.h"

void cfg_set_file(const char *filename);
const char *cfg_file(void);
void cfg_fail(const char *section, const char *key, const char *value, const char *why);

/* Parses `value` as a finite float; returns 0 if it is not one. */
int cfg_parse_float(const char *value, float *out);
/* The value of `key`, or `def` when absent; a present value that is not a
 * number stops with cfg_fail. Marks the key used. */
float cfg_find_float(list *options, const char *section, const char *key, float def);
int cfg_find_int(list *options, const char *section, const char *key, int def);

#endif
