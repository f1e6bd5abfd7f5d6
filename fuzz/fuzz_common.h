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
#include <dirent.h>

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
    if(!fp){ perror(n); abort(); }
    fwrite(data, 1, size, fp);
    fclose(fp);
    return n;
}

/* A refusal longjmps past upstream's fclose(): close what is still open on
 * the harness's own files, or the fuzzer runs out of descriptors. */
static void fuzz_close_leaked(void)
{
    DIR *d = opendir("/proc/self/fd");
    if(!d) return;
    struct dirent *e;
    char link[256], target[256];
    while((e = readdir(d))){
        int fd = atoi(e->d_name);
        if(fd < 3 || fd == dirfd(d)) continue;
        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, target, sizeof(target) - 1);
        if(n <= 0) continue;
        target[n] = 0;
        if(strncmp(target, "/tmp/darknet-fuzz-", 18) == 0) close(fd);
    }
    closedir(d);
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
