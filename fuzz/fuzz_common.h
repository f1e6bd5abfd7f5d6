/* Shared by the libFuzzer harnesses: the input is written to a file (the
 * readers take file names), and a fatal error of the program (exit(), also
 * from robust_die) returns to the harness instead of ending the fuzzer:
 * the harnesses are linked with -Wl,--wrap=exit. A clean refusal is a pass;
 * a crash, an abort or a sanitizer report is a finding. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static jmp_buf fuzz_jmp;
static volatile int fuzz_in_target = 0;
void __real_exit(int status);
void __wrap_exit(int status)
{
    if(fuzz_in_target){
        fuzz_in_target = 0;
        longjmp(fuzz_jmp, status ? status : 256);
    }
    __real_exit(status);
}

/* Writes data to a per-process file; returns its name. */
static const char *fuzz_file(const char *suffix, const uint8_t *data, size_t size)
{
    static char name[6][128];
    static int next = 0;
    char *n = name[next++ % 6];
    snprintf(n, 128, "/tmp/darknet-fuzz-%ld%s", (long)getpid(), suffix);
    FILE *fp = fopen(n, "wb");
    if(!fp) abort();
    fwrite(data, 1, size, fp);
    fclose(fp);
    return n;
}

static void fuzz_quiet(void)
{
    static int done = 0;
    if(done || getenv("FUZZ_VERBOSE")) return;
    done = 1;
    /* Only the program's FILE pointers: libFuzzer and ASan keep fd 2. */
    FILE *null = fopen("/dev/null", "w");
    if(null){ stderr = null; stdout = null; }
}

/* Rejects inputs with a number above `max`: sizes that large only measure
 * the machine's memory, not the parser. */
static int fuzz_small_numbers(const uint8_t *data, size_t size, long max)
{
    size_t i = 0;
    while(i < size){
        if(data[i] >= '0' && data[i] <= '9'){
            long v = 0;
            while(i < size && data[i] >= '0' && data[i] <= '9'){
                v = v * 10 + (data[i] - '0');
                if(v > max) return 0;
                ++i;
            }
        } else ++i;
    }
    return 1;
}
#endif
