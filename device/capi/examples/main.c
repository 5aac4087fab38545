/* The smallest program that runs an edgenas model from C: it reads the model's blob from
 * `model-int8-blob.h` (written next to every exported finalist), runs it on an input, and
 * prints the output bytes in hex, the arena it used and the class it picked.
 *
 * With no argument the input is all zero points; with one argument it is read from that
 * file (the input tensor's bytes). Build on a host (docs/deploy.md):
 *     cc -Idevice/capi/include -I FINALIST main.c target/debug/libedgenas_capi.a -lm -lpthread -ldl
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "edgenas.h"
#include "model-int8-blob.h"

/* The arena, 4-byte aligned; ARENA_BYTES may be set at build time to the size
 * edgenas_model_info gives (the README next to the model says it). */
#ifndef ARENA_BYTES
#define ARENA_BYTES (256 * 1024)
#endif
static uint32_t arena[ARENA_BYTES / 4];
static uint32_t input_words[16 * 1024];
static uint32_t output_words[1024];
#define input ((uint8_t *)input_words)
#define output ((uint8_t *)output_words)

/* Output element i as a real number. */
static float value(const edgenas_tensor_info *t, uint32_t i) {
    if (t->dtype == EDGENAS_INT8) {
        return edgenas_dequantize(t, (int8_t)output[i]);
    }
    return ((const float *)output_words)[i];
}

int main(int argc, char **argv) {
    size_t arena_bytes = 0;
    edgenas_tensor_info in, out;
    edgenas_status s =
        edgenas_model_info(edgenas_blob_int8, EDGENAS_BLOB_INT8_LEN, &arena_bytes, &in, &out);
    if (s != EDGENAS_OK) {
        fprintf(stderr, "model: %s\n", edgenas_status_name(s));
        return 1;
    }
    if (in.bytes > sizeof input_words || out.bytes > sizeof output_words) {
        fprintf(stderr, "the model's tensors are larger than this example's buffers\n");
        return 1;
    }
    if (argc > 1) {
        FILE *f = fopen(argv[1], "rb");
        if (!f || fread(input, 1, in.bytes, f) != in.bytes) {
            fprintf(stderr, "cannot read %" PRIu32 " input bytes from %s\n", in.bytes, argv[1]);
            return 1;
        }
        fclose(f);
    } else {
        memset(input, in.dtype == EDGENAS_INT8 ? (uint8_t)in.zero_point : 0, in.bytes);
    }
    size_t used = 0;
    s = edgenas_run(edgenas_blob_int8, EDGENAS_BLOB_INT8_LEN, (uint8_t *)arena, sizeof arena,
                    input, in.bytes, output, out.bytes, &used);
    if (s != EDGENAS_OK) {
        fprintf(stderr, "run: %s\n", edgenas_status_name(s));
        return 1;
    }
    printf("arena %lu planned %lu used\n", (unsigned long)arena_bytes, (unsigned long)used);
    printf("output");
    for (uint32_t i = 0; i < out.bytes; i++) {
        printf(" %02x", output[i]);
    }
    printf("\n");
    uint32_t best = 0;
    for (uint32_t i = 1; i < out.elements; i++) {
        if (value(&out, i) > value(&out, best)) {
            best = i;
        }
    }
    printf("class %" PRIu32 "\n", best);
    return 0;
}
