/* edgenas.h: the edgenas device engine from C and C++ (device/capi, docs/deploy.md).
 *
 * A model is a blob (`model-int8.blob`, or the array of `model-int8-blob.h`) that the engine
 * runs in an arena the caller gives: no allocator, no global state, no threads. Blob and
 * arena must start on a 4-byte boundary. Every function returns EDGENAS_OK or why it did
 * nothing; a bad blob is an error, never undefined behaviour.
 *
 *     size_t arena_bytes;
 *     edgenas_tensor_info in, out;
 *     if (edgenas_model_info(blob, blob_len, &arena_bytes, &in, &out) != EDGENAS_OK) ...
 *     static uint32_t arena[ARENA_WORDS];            // at least arena_bytes
 *     int8_t x[...], y[...];                        // in.bytes, out.bytes
 *     edgenas_run(blob, blob_len, (uint8_t *)arena, sizeof arena, (const uint8_t *)x,
 *                 in.bytes, (uint8_t *)y, out.bytes, NULL);
 */
#ifndef EDGENAS_H
#define EDGENAS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What a call returns. */
typedef int32_t edgenas_status;
#define EDGENAS_OK 0              /* done */
#define EDGENAS_NULL_POINTER 1    /* a pointer that must not be null was null */
#define EDGENAS_BAD_BLOB 2        /* not a blob of this engine's format */
#define EDGENAS_BAD_TENSOR 3      /* a tensor record of the blob is not valid */
#define EDGENAS_BAD_OP 4          /* an op record of the blob is not valid */
#define EDGENAS_MISALIGNED 5      /* blob or arena not on a 4-byte boundary */
#define EDGENAS_ARENA_TOO_SMALL 6 /* the arena is smaller than the model's plan */
#define EDGENAS_INPUT_SIZE 7      /* the input is not the input tensor's size */
#define EDGENAS_OUTPUT_SIZE 8     /* the output buffer is not the output tensor's size */

/* edgenas_tensor_info.dtype */
#define EDGENAS_F32 0u  /* float */
#define EDGENAS_INT8 1u /* int8_t: real = scale * (q - zero_point) */

/* A model's input or output tensor. */
typedef struct {
    uint32_t dtype;     /* EDGENAS_F32 or EDGENAS_INT8 */
    float scale;        /* int8: real = scale * (q - zero_point); f32: 1 */
    int32_t zero_point; /* int8: the value that stands for 0; f32: 0 */
    uint32_t elements;  /* elements */
    uint32_t bytes;     /* bytes: elements, or 4 x elements for f32 */
} edgenas_tensor_info;

/* The arena size the blob needs and its input and output tensors; any of the three out
 * pointers may be NULL. */
edgenas_status edgenas_model_info(const uint8_t *blob, size_t blob_len, size_t *arena_bytes,
                                  edgenas_tensor_info *input, edgenas_tensor_info *output);

/* Runs the blob once on `input` (the input tensor's bytes) into `output` (the output
 * tensor's bytes), in `arena`. With `high_water` not NULL, the arena bytes the run used are
 * written there. */
edgenas_status edgenas_run(const uint8_t *blob, size_t blob_len, uint8_t *arena,
                           size_t arena_len, const uint8_t *input, size_t input_len,
                           uint8_t *output, size_t output_len, size_t *high_water);

/* The status's name ("EDGENAS_ARENA_TOO_SMALL"): a static string. */
const char *edgenas_status_name(edgenas_status status);

/* Quantises a real value for an int8 tensor (round half to even, as ONNX does). */
static inline int8_t edgenas_quantize(const edgenas_tensor_info *t, float x) {
    float q = x / t->scale;
    float r = (float)(int32_t)q;
    float frac = q - r;
    if (frac > 0.5f || (frac == 0.5f && ((int32_t)r & 1))) {
        r += 1.0f;
    } else if (frac < -0.5f || (frac == -0.5f && ((int32_t)r & 1))) {
        r -= 1.0f;
    }
    int32_t v = (int32_t)r + t->zero_point;
    return (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
}

/* The real value of an int8 tensor's element. */
static inline float edgenas_dequantize(const edgenas_tensor_info *t, int8_t q) {
    return t->scale * (float)((int32_t)q - t->zero_point);
}

#ifdef __cplusplus
}
#endif

#endif /* EDGENAS_H */
