#include "gemm_blas.h"
#ifdef DARKNET_BLAS
#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

void gemm_blas(int TA, int TB, int M, int N, int K, float ALPHA,
        float *A, int lda, float *B, int ldb, float BETA, float *C, int ldc)
{
    if(M <= 0 || N <= 0) return;
    cblas_sgemm(CblasRowMajor, TA ? CblasTrans : CblasNoTrans, TB ? CblasTrans : CblasNoTrans,
                M, N, K, ALPHA, A, lda, B, ldb, BETA, C, ldc);
}

char *openblas_get_corename(void);

void gemm_blas_setup(int argc, char **argv)
{
    (void)argc;
    if(getenv("OPENBLAS_CORETYPE")) return;
    const char *core = openblas_get_corename();
    if(!core || strcasecmp(core, "prescott") != 0) return;
#if defined(__x86_64__) && defined(__GNUC__)
    const char *better = 0;
    __builtin_cpu_init();
    if(__builtin_cpu_supports("avx512f")) better = "SkylakeX";
    else if(__builtin_cpu_supports("avx2")) better = "Haswell";
    if(!better) return;
    setenv("OPENBLAS_CORETYPE", better, 1);
    execv("/proc/self/exe", argv);   /* returns only on failure: go on as we are */
#endif
}
#else
void gemm_blas_setup(int argc, char **argv)
{
    (void)argc;
    (void)argv;
}
#endif
