/* Weights are written atomically (patch 0205): the target keeps its old
 * content until the new one is complete, and a failed write (disk full)
 * leaves the old file, removes the temporary one and exits 1. */
#include "darknet.h"
#include "weights_io.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures = 0;
static void check(int ok, const char *what)
{
    printf("%s - %s\n", ok ? "ok" : "FAIL", what);
    if(!ok) ++failures;
}

static int content_is(const char *path, const char *want)
{
    char buf[64] = {0};
    FILE *fp = fopen(path, "rb");
    if(!fp) return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
    fclose(fp);
    return n == strlen(want) && memcmp(buf, want, n) == 0;
}

int main(void)
{
    char dir[] = "/tmp/robust-atomic.XXXXXX", target[256], tmp[512];
    if(!mkdtemp(dir)) return 1;
    snprintf(target, sizeof(target), "%s/net.weights", dir);
    FILE *fp = fopen(target, "wb"); fputs("OLD", fp); fclose(fp);

    fp = weights_tmp_open(target, tmp, sizeof(tmp));
    fputs("NEW!", fp);
    fflush(fp);
    check(content_is(target, "OLD"), "while writing, the target keeps its old content");
    check(access(tmp, F_OK) == 0 && strstr(tmp, ".tmp.") != 0, "the new content goes to a temporary file beside it");
    weights_tmp_commit(fp, tmp, target);
    check(content_is(target, "NEW!"), "after commit the target has the new content");
    check(access(tmp, F_OK) != 0, "the temporary file is gone");

    /* Disk full: /dev/full refuses every write at flush time. */
    if(access("/dev/full", W_OK) == 0){
        fflush(stdout);
        pid_t pid = fork();
        if(pid == 0){
            char t[512];
            FILE *f = weights_tmp_open(target, t, sizeof(t));
            fclose(f);
            f = fopen("/dev/full", "wb");
            setvbuf(f, 0, _IOFBF, 1 << 16);
            fputs("PARTIAL", f);
            freopen("/dev/null", "w", stderr);
            weights_tmp_commit(f, t, target);
            _exit(0);
        }
        int st = 0;
        waitpid(pid, &st, 0);
        check(WIFEXITED(st) && WEXITSTATUS(st) == 1, "a failed write exits 1");
        check(content_is(target, "NEW!"), "a failed write leaves the previous weights file unchanged");
        char cmd[600];
        snprintf(cmd, sizeof(cmd), "ls %s | grep -c tmp >/dev/null", dir);
        check(system(cmd) != 0, "a failed write removes its temporary file");
    }
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    system(cmd);
    return failures ? 1 : 0;
}
