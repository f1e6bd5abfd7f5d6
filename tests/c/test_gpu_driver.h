#ifndef TEST_GPU_DRIVER_H
#define TEST_GPU_DRIVER_H
/* GPU tests in tests/c/test_gpu_*.c. scripts/run-tests compiles every C test
 * against the CPU build; compiled that way (no GPU macro) a GPU test only
 * drives itself:
 *   - no GPU on this machine (no /dev/nvidia0, nvidia-smi lists none; or
 *     TEST_GPU=0): prints "skipped: no GPU" and exits 77;
 *   - a GPU but no nvcc: "skipped: no nvcc" (77);
 *   - otherwise builds the GPU variant (make GPU=1 CUDNN=$TEST_GPU_CUDNN,
 *     default 0: upstream's own batch-norm kernels use the CPU's formulas,
 *     cuDNN's use the biased variance, which would hide the optimizer's parity
 *     behind upstream's), compiles this same file with -DGPU against it into
 *     build/tests/NAME.gpu and runs that, passing its exit status on. */
#ifndef GPU
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

static int tg_have_gpu(void)
{
    const char *force = getenv("TEST_GPU");
    if(force && !strcmp(force, "0")) return 0;
    if(access("/dev/nvidia0", F_OK) == 0) return 1;
    return system("nvidia-smi -L 2>/dev/null | grep -q '^GPU'") == 0;
}

static int tg_drive(const char *name, const char *source)
{
    if(!tg_have_gpu()){
        printf("%s: skipped: no GPU\n", name);
        return 77;
    }
    if(system("command -v nvcc >/dev/null 2>&1 || test -x /usr/local/cuda/bin/nvcc") != 0){
        printf("%s: skipped: no nvcc (a GPU is present, but the GPU build needs the CUDA toolkit)\n", name);
        return 77;
    }
    const char *cudnn = getenv("TEST_GPU_CUDNN");
    if(!cudnn || !*cudnn) cudnn = "0";
    char cmd[4096];
    snprintf(cmd, sizeof(cmd),
        "set -e; export PATH=\"$PATH:/usr/local/cuda/bin\"; "
        "make -s -j\"$(nproc)\" GPU=1 CUDNN=%s subbuild >build/tests/%s.build.log 2>&1 || "
        "  { echo 'GPU build failed:'; tail -20 build/tests/%s.build.log; exit 1; }; "
        "T=$(make -s GPU=1 CUDNN=%s print-TREE); "
        "L='-lm -pthread -L/usr/local/cuda/lib64 -lcudart -lcublas -lcurand -lstdc++'; "
        "[ %s = 1 ] && L=\"$L -lcudnn\"; "
        "nm \"$T/libdarknet.a\" 2>/dev/null | grep -qw 'U cblas_sgemm' && L=\"$L -lopenblas\"; "
        "gcc -std=gnu99 -O2 -Wall -DGPU %s -I/usr/local/cuda/include -I\"$T/include\" -I\"$T/src\" -Itests/c "
        "  -o build/tests/%s.gpu %s \"$T/libdarknet.a\" $L",
        cudnn, name, name, cudnn, cudnn, strcmp(cudnn, "1") ? "" : "-DCUDNN", name, source);
    if(system(cmd) != 0){
        printf("%s: could not build the GPU test\n", name);
        return 1;
    }
    snprintf(cmd, sizeof(cmd), "build/tests/%s.gpu", name);
    int st = system(cmd);
    if(st == -1 || !WIFEXITED(st)) return 1;
    return WEXITSTATUS(st);
}
#define TG_MAIN(name, source) int main(void) { return tg_drive(name, source); }
#endif

#endif
