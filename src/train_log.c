/* -log FILE and -seed N for `darknet classifier train`; see train_log.h. */
#include "train_log.h"
#include "alig.h"
#include "utils.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <math.h>

static FILE *log_fp;
static double log_start;
static int seed_given;
static unsigned long seed_value;

/* Removes argv[i] (and shifts the rest down), as upstream's del_arg does. */
static void drop_arg(int *argc, char **argv, int i)
{
    int j;
    for(j = i; j < *argc - 1; ++j) argv[j] = argv[j+1];
    argv[--*argc] = 0;
}

void train_log_args(int *argc, char **argv)
{
    int i;
    const char *path = 0;
    for(i = 0; i < *argc; ){
        /* upstream's find_arg() deletes the flags it finds (-clear, -gpus...)
         * and leaves NULLs at the end of argv without lowering argc */
        if(!argv[i]){ ++i; continue; }
        if((!strcmp(argv[i], "-log") || !strcmp(argv[i], "-seed")) && i + 1 >= *argc){
            fprintf(stderr, "%s needs a value\n", argv[i]);
            exit(1);
        }
        if(!strcmp(argv[i], "-log")){
            path = argv[i+1];
            drop_arg(argc, argv, i);
            drop_arg(argc, argv, i);
        } else if(!strcmp(argv[i], "-seed")){
            char *end;
            errno = 0;
            seed_value = strtoul(argv[i+1], &end, 10);
            if(errno || end == argv[i+1] || *end || argv[i+1][0] == '-' || seed_value > 4000000000UL){
                fprintf(stderr, "-seed: '%s' is not a non-negative integer below 4000000000\n", argv[i+1]);
                exit(1);
            }
            seed_given = 1;
            drop_arg(argc, argv, i);
            drop_arg(argc, argv, i);
        } else {
            ++i;
        }
    }
    log_start = what_time_is_it_now();
    if(!path) return;
    log_fp = fopen(path, "w");
    if(!log_fp){
        fprintf(stderr, "-log: cannot write %s: %s\n", path, strerror(errno));
        exit(1);
    }
    fprintf(log_fp, "iteration,images,loss,step,unclipped,wall_seconds\n");
    fflush(log_fp);
}

unsigned train_log_seed(unsigned fallback, int which)
{
    if(!seed_given) return fallback;
    return (unsigned)(seed_value + (unsigned long)which);
}

void train_log_iteration(network *net, float loss)
{
    if(!log_fp) return;
    fprintf(log_fp, "%ld,%lu,%.7g,", (long)get_current_batch(net), (unsigned long)*net->seen, loss);
    if(net->policy == ALIG && net->alig){
        const alig_state *s = net->alig;
        if(s->last.skipped) fprintf(log_fp, "0,");
        else fprintf(log_fp, "%.7g,", s->last.step);
        if(isfinite(s->last.unclipped)) fprintf(log_fp, "%.7g,", s->last.unclipped);
        else fprintf(log_fp, "nan,");
    } else {
        fprintf(log_fp, "%.7g,,", get_current_rate(net));
    }
    fprintf(log_fp, "%.3f\n", what_time_is_it_now() - log_start);
    /* A row per iteration is cheap next to an iteration; flushing lets a
     * crashed or killed run keep its log. */
    fflush(log_fp);
}

void train_log_close(void)
{
    if(log_fp) fclose(log_fp);
    log_fp = 0;
}
