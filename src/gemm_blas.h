#ifndef GEMM_BLAS_H
#define GEMM_BLAS_H
/* Darknet's gemm_cpu contract (row-major, C = ALPHA*op(A)*op(B) + BETA*C)
 * carried out by the CBLAS sgemm of the BLAS we link (OpenBLAS). */
void gemm_blas(int TA, int TB, int M, int N, int K, float ALPHA,
        float *A, int lda, float *B, int ldb, float BETA, float *C, int ldc);

/* Called first thing in main. OpenBLAS releases older than the CPU fall
 * back to their generic "Prescott" kernels (about 3x slower here); when the
 * CPU has AVX-512 or AVX2 and the user chose no core type, restart once with
 * OPENBLAS_CORETYPE set to the newest kernels this OpenBLAS has for it. */
void gemm_blas_setup(int argc, char **argv);
#endif
