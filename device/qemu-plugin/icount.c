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
 * Debian ships no qemu-plugin.h, so the few functions of plugin API version 1 (QEMU 7.2) that
 * this file uses are declared here.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
typedef struct qemu_info_t qemu_info_t;

enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS = 0 };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 = 0 };

typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);

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
static uint64_t begin_addr;
static uint64_t end_addr;
static uint64_t op_addr;

/* Prints `LABEL N` to QEMU's log. */
static void report(const char *label, uint64_t n)
{
    char line[64];
    snprintf(line, sizeof line, "%s %" PRIu64 "\n", label, n);
    qemu_plugin_outs(line);
}

static void on_begin(unsigned int vcpu, void *data)
{
    (void)vcpu;
    (void)data;
    started = executed;
    marked = executed;
}

static void on_op(unsigned int vcpu, void *data)
{
    (void)vcpu;
    (void)data;
    report("edgenas-icount-op", executed - marked);
    marked = executed;
}

static void on_end(unsigned int vcpu, void *data)
{
    (void)vcpu;
    (void)data;
    report("edgenas-icount", executed - started);
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t pc = qemu_plugin_insn_vaddr(insn);
        qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &executed, 1);
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
