/*
 * edgenas QEMU TCG plugin: counts the guest instructions executed between two addresses.
 *
 *   qemu-system-arm ... -plugin libicount.so,begin=0xADDR,end=0xADDR[,op=0xADDR] -d plugin
 *
 * Every executed instruction adds one to a counter (inline, no call). When the instruction at
 * `begin` executes, the count is noted; when the one at `end` executes, the number executed
 * since is printed to QEMU's log as `edgenas-icount N`. The firmware calls a function at each
 * address around one inference, so N is that inference's instruction count, exactly and
 * deterministically. With `op`, the address of a function the firmware calls as each op of
 * the model finishes, every call also prints `edgenas-icount-op N`: the instructions since the
 * inference began or the previous op ended, so the host can tell what each op cost.
 *
 * With `table=W0:W1:...:W15:P`, a cycle model of the core: each instruction is decoded once, at
 * translation, into one of the classes of `enum class` below, and adds its class's weight to a
 * second counter (inline too); a conditional branch that is taken adds P more (a callback at
 * the start of every translation block tells taken from not). Weights are in quarter cycles, so
 * that estimates such as 1.25 stay integers. Load/store multiple add their weight once plus
 * REGS per register; a load or store single right after another takes the PIPELINED weight
 * (the Cortex-M4 overlaps neighbouring ones), in the same block or, where QEMU ended a block at a
 * page of code between them, across the two. Each line then ends with the
 * quarter cycles too: `edgenas-icount N Q`, `edgenas-icount-op N Q`.
 *
 * Debian ships no qemu-plugin.h, so the few functions of plugin API version 1 (QEMU 7.2) that
 * this file uses are declared here.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
typedef struct qemu_info_t qemu_info_t;

enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS = 0 };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 = 0 };

typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, qemu_plugin_vcpu_udata_cb_t cb,
                                          enum qemu_plugin_cb_flags flags, void *userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn,
                                                enum qemu_plugin_op op, void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn,
                                            qemu_plugin_vcpu_udata_cb_t cb,
                                            enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_outs(const char *string);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

static uint64_t executed;
static uint64_t started;
static uint64_t marked;

static int with_table;
static uint64_t weight[CLASSES];
static uint64_t refill;
static uint64_t qcycles;
static uint64_t started_q;
static uint64_t marked_q;
/* The fall-through address of the conditional branch just executed, or 0. */
static uint64_t pending_fallthrough;
/* Whether the instruction just executed was a load or store single that ended its block (QEMU
 * ends a block at each page of code, not only at branches). */
static int ended_on_single;

/* What the start of each block needs: its address, and the cycles its first instruction's
 * weight drops by when it runs right after a load or store single that ended the block before
 * (the pipelining the core gives it, whichever block each is in). */
struct block {
    uint64_t start;
    uint64_t pipelined_saving;
};
static uint64_t begin_addr;
static uint64_t end_addr;
static uint64_t op_addr;

/* Prints `LABEL N` (or `LABEL N Q` with a cycle table) to QEMU's log. */
static void report(const char *label, uint64_t n, uint64_t q)
{
    char line[96];
    if (with_table) {
        snprintf(line, sizeof line, "%s %" PRIu64 " %" PRIu64 "\n", label, n, q);
    } else {
        snprintf(line, sizeof line, "%s %" PRIu64 "\n", label, n);
    }
    qemu_plugin_outs(line);
}

static void on_begin(unsigned int vcpu, void *data)
{
    (void)vcpu;
    (void)data;
    started = executed;
    marked = executed;
    started_q = qcycles;
    marked_q = qcycles;
}

static void on_op(unsigned int vcpu, void *data)
{
    (void)vcpu;
    (void)data;
    report("edgenas-icount-op", executed - marked, qcycles - marked_q);
    marked = executed;
    marked_q = qcycles;
}

static void on_end(unsigned int vcpu, void *data)
{
    (void)vcpu;
    (void)data;
    report("edgenas-icount", executed - started, qcycles - started_q);
}

/* At the start of every block: was the conditional branch executed just before it taken? Did
 * the block before end on a load or store single that this block's first one pipelines with? */
static void on_block(unsigned int vcpu, void *data)
{
    (void)vcpu;
    const struct block *blk = data;
    if (pending_fallthrough != 0 && blk->start != pending_fallthrough) {
        qcycles += refill;
    }
    pending_fallthrough = 0;
    if (ended_on_single) {
        qcycles -= blk->pipelined_saving;
    }
    ended_on_single = 0;
}

static void on_single_end(unsigned int vcpu, void *data)
{
    (void)vcpu;
    (void)data;
    ended_on_single = 1;
}

static void on_conditional(unsigned int vcpu, void *data)
{
    (void)vcpu;
    pending_fallthrough = (uint64_t)(uintptr_t)data;
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    /* One per translation, kept for the block's life (QEMU gives no callback when it drops a
     * block; blocks are few and translated about once). */
    struct block *blk = NULL;
    if (with_table) {
        blk = calloc(1, sizeof *blk);
        if (blk == NULL) {
            abort();
        }
        blk->start = qemu_plugin_tb_vaddr(tb);
        qemu_plugin_register_vcpu_tb_exec_cb(tb, on_block, QEMU_PLUGIN_CB_NO_REGS, blk);
    }
    int after_single = 0;
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t pc = qemu_plugin_insn_vaddr(insn);
        qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &executed, 1);
        if (with_table) {
            const uint8_t *b = qemu_plugin_insn_data(insn);
            size_t size = qemu_plugin_insn_size(insn);
            uint32_t hw1 = b[0] | (b[1] << 8);
            uint32_t hw2 = size >= 4 ? (uint32_t)(b[2] | (b[3] << 8)) : 0;
            int regs, to_pc;
            enum class c = classify(hw1, hw2, size >= 4, &regs, &to_pc);
            int single = (c == LOAD || c == STORE) && !to_pc;
            uint64_t q = (single && after_single) ? weight[PIPELINED] : weight[c];
            if (i == 0 && single && weight[c] > weight[PIPELINED]) {
                blk->pipelined_saving = weight[c] - weight[PIPELINED];
            }
            if (i + 1 == n && single) {
                qemu_plugin_register_vcpu_insn_exec_cb(insn, on_single_end, QEMU_PLUGIN_CB_NO_REGS,
                                                       NULL);
            }
            if (c == MULTIPLE || c == FP_MULTIPLE) {
                q += (uint64_t)regs * weight[REGS];
            }
            if (to_pc) {
                q += refill;
            }
            after_single = single;
            qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &qcycles, q);
            if (c == COND_BRANCH) {
                qemu_plugin_register_vcpu_insn_exec_cb(insn, on_conditional, QEMU_PLUGIN_CB_NO_REGS,
                                                       (void *)(uintptr_t)(pc + size));
            }
        }
        if (pc == begin_addr) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_begin, QEMU_PLUGIN_CB_NO_REGS, NULL);
        }
        if (op_addr != 0 && pc == op_addr) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_op, QEMU_PLUGIN_CB_NO_REGS, NULL);
        }
        if (pc == end_addr) {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_end, QEMU_PLUGIN_CB_NO_REGS, NULL);
        }
    }
}

/* Reads `W0:W1:...:W15:P` into the weights and the refill penalty; 0 when it does not parse. */
static int read_table(const char *text)
{
    char *end;
    for (int c = 0; c <= CLASSES; c++) {
        uint64_t v = strtoull(text, &end, 10);
        if (end == text || (c < CLASSES && *end != ':') || (c == CLASSES && *end != '\0')) {
            return 0;
        }
        if (c < CLASSES) {
            weight[c] = v;
        } else {
            refill = v;
        }
        text = end + 1;
    }
    return 1;
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id,
                                                               const qemu_info_t *info,
                                                               int argc, char **argv)
{
    (void)info;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "begin=", 6) == 0) {
            begin_addr = strtoull(argv[i] + 6, NULL, 0);
        } else if (strncmp(argv[i], "end=", 4) == 0) {
            end_addr = strtoull(argv[i] + 4, NULL, 0);
        } else if (strncmp(argv[i], "op=", 3) == 0) {
            op_addr = strtoull(argv[i] + 3, NULL, 0);
        } else if (strncmp(argv[i], "table=", 6) == 0) {
            if (!read_table(argv[i] + 6)) {
                fprintf(stderr, "edgenas icount plugin: table= needs %d weights and P: %s\n",
                        CLASSES, argv[i]);
                return -1;
            }
            with_table = 1;
        } else {
            fprintf(stderr, "edgenas icount plugin: unknown argument %s\n", argv[i]);
            return -1;
        }
    }
    if (begin_addr == 0 || end_addr == 0) {
        fprintf(stderr, "edgenas icount plugin: needs begin=ADDR,end=ADDR\n");
        return -1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    return 0;
}
