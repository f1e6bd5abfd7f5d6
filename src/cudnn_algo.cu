/* cuDNN 8/9 convolution algorithm choice (called from upstream's
 * cudnn_convolutional_setup through patches/0102).
 *
 * cuDNN 8 removed cudnnGetConvolution{Forward,BackwardData,BackwardFilter}
 * Algorithm and their *_SPECIFY_WORKSPACE_LIMIT preference, which upstream
 * used. Their replacements (_v7) return every algorithm ranked by cuDNN's
 * heuristics (fastest first) with the workspace each needs; we take the
 * fastest that is supported and fits the limit. When none fits (or the query
 * fails) we fall back to the algorithm that needs no workspace, with a
 * warning, instead of aborting. The heuristics run no kernels and allocate
 * nothing on the device. */
#include "cuda_runtime.h"
#include "curand.h"
#include "cublas_v2.h"

extern "C" {
#include "convolutional_layer.h"
#include "cuda.h"
}

#ifdef CUDNN
#include <stdio.h>

#define CUDNN_ALGO_MAX 32

static void describe(const layer *l, char *buf, size_t len)
{
    snprintf(buf, len, "%dx%dx%d -> %d filters %dx%d/%d", l->w, l->h, l->c, l->n, l->size, l->size, l->stride);
}

extern "C" void cudnn_select_conv_algorithms(layer *l, size_t workspace_limit)
{
    char what[96];
    int i, got = 0;
    cudnnHandle_t h = cudnn_handle();

    {
        cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_ALGO_MAX];
        cudnnConvolutionFwdAlgo_t pick = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
        int found = 0;
        got = 0;
        if(cudnnGetConvolutionForwardAlgorithm_v7(h, l->srcTensorDesc, l->weightDesc, l->convDesc,
                    l->dstTensorDesc, CUDNN_ALGO_MAX, &got, perf) == CUDNN_STATUS_SUCCESS){
            for(i = 0; i < got && !found; ++i){
                if(perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= workspace_limit){
                    pick = perf[i].algo;
                    found = 1;
                }
            }
        }
        if(!found){
            describe(l, what, sizeof(what));
            fprintf(stderr, "cuDNN: no forward algorithm for conv %s fits the workspace limit of %zu bytes; "
                    "using implicit GEMM (no workspace)\n", what, workspace_limit);
        }
        l->fw_algo = pick;
    }
    {
        cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_ALGO_MAX];
        cudnnConvolutionBwdDataAlgo_t pick = CUDNN_CONVOLUTION_BWD_DATA_ALGO_0;
        int found = 0;
        got = 0;
        if(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, l->weightDesc, l->ddstTensorDesc, l->convDesc,
                    l->dsrcTensorDesc, CUDNN_ALGO_MAX, &got, perf) == CUDNN_STATUS_SUCCESS){
            for(i = 0; i < got && !found; ++i){
                if(perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= workspace_limit){
                    pick = perf[i].algo;
                    found = 1;
                }
            }
        }
        if(!found){
            describe(l, what, sizeof(what));
            fprintf(stderr, "cuDNN: no backward-data algorithm for conv %s fits the workspace limit of %zu bytes; "
                    "using ALGO_0 (no workspace)\n", what, workspace_limit);
        }
        l->bd_algo = pick;
    }
    {
        cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_ALGO_MAX];
        cudnnConvolutionBwdFilterAlgo_t pick = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0;
        int found = 0;
        got = 0;
        if(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, l->srcTensorDesc, l->ddstTensorDesc, l->convDesc,
                    l->dweightDesc, CUDNN_ALGO_MAX, &got, perf) == CUDNN_STATUS_SUCCESS){
            for(i = 0; i < got && !found; ++i){
                if(perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= workspace_limit){
                    pick = perf[i].algo;
                    found = 1;
                }
            }
        }
        if(!found){
            describe(l, what, sizeof(what));
            fprintf(stderr, "cuDNN: no backward-filter algorithm for conv %s fits the workspace limit of %zu bytes; "
                    "using ALGO_0 (no workspace)\n", what, workspace_limit);
        }
        l->bf_algo = pick;
    }
}
#endif
