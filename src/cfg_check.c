#include "cfg_check.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *current_file = "(cfg)";

void cfg_set_file(const char *filename)
{
    current_file = filename ? filename : "(cfg)";
}

const char *cfg_file(void)
{
    return current_file;
}

void cfg_fail(const char *section, const char *key, const char *value, const char *why)
{
    fprintf(stderr, "%s: [%s] %s=%s: %s\n", current_file, section, key, value ? value : "", why);
    exit(1);
}

static int only_space(const char *s)
{
    while(*s == ' ' || *s == '\t' || *s == '\r') ++s;
    return *s == 0;
}

int cfg_parse_float(const char *value, float *out)
{
    if(!value || !*value) return 0;
    char *end = 0;
    errno = 0;
    double v = strtod(value, &end);
    if(end == value || !only_space(end) || errno == ERANGE || !(v - v == 0)) return 0;   /* NaN or inf; isfinite() is unreliable under -Ofast */
    *out = (float)v;
    return 1;
}

float cfg_find_float(list *options, const char *section, const char *key, float def)
{
    char *v = option_find(options, (char *)key);
    if(!v) return def;
    float f;
    if(!cfg_parse_float(v, &f)) cfg_fail(section, key, v, "not a number");
    return f;
}

int cfg_find_int(list *options, const char *section, const char *key, int def)
{
    char *v = option_find(options, (char *)key);
    if(!v) return def;
    char *end = 0;
    errno = 0;
    long n = strtol(v, &end, 10);
    if(end == v || !only_space(end) || errno == ERANGE || n > 2147483647L || n < -2147483647L){
        cfg_fail(section, key, v, "not an integer");
    }
    return (int)n;
}
