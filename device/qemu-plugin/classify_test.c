/*
 * The decoder of classify.h on instructions as arm-none-eabi-as (binutils 2.40) encodes them
 * for `-mcpu=cortex-m4 -mfpu=fpv4-sp-d16`: each encoding, its class, its registers moved and
 * whether it writes the PC. Run by build.sh; exits 1 on the first mismatch.
 */
#include <stdio.h>

#include "classify.h"

struct check {
    const char *assembly;
    uint32_t hw1, hw2;
    int wide;
    enum class class;
    int regs, to_pc;
};

static const struct check CHECKS[] = {
    {"add.w r0, r1, r2", 0xeb01, 0x0002, 1, ALU, 0, 0},
    {"ldr r1, [r0]", 0x6801, 0, 0, LOAD, 0, 0},
    {"ldr.w r1, [r0, #1024]", 0xf8d0, 0x1400, 1, LOAD, 0, 0},
    {"ldrb r1, [r0, r2]", 0x5c81, 0, 0, LOAD, 0, 0},
    {"ldrsh.w r1, [r0, #-2]", 0xf930, 0x1c02, 1, LOAD, 0, 0},
    {"str r1, [r0, #4]", 0x6041, 0, 0, STORE, 0, 0},
    {"strh.w r1, [r0, #2000]", 0xf8a0, 0x17d0, 1, STORE, 0, 0},
    {"ldr r0, =literal", 0x4824, 0, 0, LOAD, 0, 0},
    {"push {r4, r5, r6, lr}", 0xb570, 0, 0, MULTIPLE, 4, 0},
    {"pop {r4, r5, r6, pc}", 0xbd70, 0, 0, MULTIPLE, 4, 1},
    {"push.w {r4-r11, lr}", 0xe92d, 0x4ff0, 1, MULTIPLE, 9, 0},
    {"pop.w {r4-r11, pc}", 0xe8bd, 0x8ff0, 1, MULTIPLE, 9, 1},
    {"ldmia r0!, {r1, r2, r3}", 0xc80e, 0, 0, MULTIPLE, 3, 0},
    {"ldrd r0, r1, [r2, #8]", 0xe9d2, 0x0102, 1, MULTIPLE, 2, 0},
    {"muls r0, r1, r0", 0x4348, 0, 0, MUL, 0, 0},
    {"mul r0, r1, r2", 0xfb01, 0xf002, 1, MUL, 0, 0},
    {"mla r0, r1, r2, r3", 0xfb01, 0x3002, 1, MAC, 0, 0},
    {"smlad r0, r1, r2, r3", 0xfb21, 0x3002, 1, MAC, 0, 0},
    {"smuad r0, r1, r2", 0xfb21, 0xf002, 1, MUL, 0, 0},
    {"smull r0, r1, r2, r3", 0xfb82, 0x0103, 1, MAC, 0, 0},
    {"smlal r0, r1, r2, r3", 0xfbc2, 0x0103, 1, MAC, 0, 0},
    {"sdiv r0, r1, r2", 0xfb91, 0xf0f2, 1, DIV, 0, 0},
    {"udiv r0, r1, r2", 0xfbb1, 0xf0f2, 1, DIV, 0, 0},
    {"bx lr", 0x4770, 0, 0, BRANCH, 0, 0},
    {"b.n .", 0xe7fe, 0, 0, BRANCH, 0, 0},
    {"b.w .+2000", 0xf000, 0xbbe6, 1, BRANCH, 0, 0},
    {"bl .+4000", 0xf000, 0xffce, 1, BRANCH, 0, 0},
    {"bne.n .", 0xd1fe, 0, 0, COND_BRANCH, 0, 0},
    {"bne.w .+1000", 0xf040, 0x81f2, 1, COND_BRANCH, 0, 0},
    {"cbz r0, .+8", 0xb110, 0, 0, COND_BRANCH, 0, 0},
    {"tbb [pc, r0]", 0xe8df, 0xf000, 1, BRANCH, 0, 0},
    {"vadd.f32 s0, s1, s2", 0xee30, 0x0a81, 1, FP_ALU, 0, 0},
    {"vmul.f32 s0, s1, s2", 0xee20, 0x0a81, 1, FP_ALU, 0, 0},
    {"vmla.f32 s0, s1, s2", 0xee00, 0x0a81, 1, FP_MAC, 0, 0},
    {"vfma.f32 s0, s1, s2", 0xeea0, 0x0a81, 1, FP_MAC, 0, 0},
    {"vdiv.f32 s0, s1, s2", 0xee80, 0x0a81, 1, FP_DIV, 0, 0},
    {"vsqrt.f32 s0, s1", 0xeeb1, 0x0ae0, 1, FP_DIV, 0, 0},
    {"vcvt.s32.f32 s0, s0", 0xeebd, 0x0ac0, 1, FP_ALU, 0, 0},
    {"vldr s0, [r0, #4]", 0xed90, 0x0a01, 1, FP_LOAD_STORE, 0, 0},
    {"vstr s0, [r0]", 0xed80, 0x0a00, 1, FP_LOAD_STORE, 0, 0},
    {"vpush {s16-s19}", 0xed2d, 0x8a04, 1, FP_MULTIPLE, 4, 0},
    {"vldmia r0!, {s0-s7}", 0xecb0, 0x0a08, 1, FP_MULTIPLE, 8, 0},
    {"vmov r0, s0", 0xee10, 0x0a10, 1, FP_ALU, 0, 0},
    {"ssat r0, #8, r1", 0xf301, 0x0007, 1, ALU, 0, 0},
    {"sadd16 r0, r1, r2", 0xfa91, 0xf002, 1, ALU, 0, 0},
    {"it eq", 0xbf08, 0, 0, ALU, 0, 0},
    {"moveq r0, r1", 0x4608, 0, 0, ALU, 0, 0},
    {"nop", 0xbf00, 0, 0, ALU, 0, 0},
    {"ldr.w pc, [sp], #4", 0xf85d, 0xfb04, 1, LOAD, 0, 1},
    {"mov pc, lr", 0x46f7, 0, 0, BRANCH, 0, 0},
};

int main(void)
{
    int failed = 0;
    for (size_t i = 0; i < sizeof CHECKS / sizeof CHECKS[0]; i++) {
        const struct check *c = &CHECKS[i];
        int regs, to_pc;
        enum class got = classify(c->hw1, c->hw2, c->wide, &regs, &to_pc);
        if (got != c->class || regs != c->regs || to_pc != c->to_pc) {
            fprintf(stderr, "%s: class %d regs %d to_pc %d, expected %d %d %d\n", c->assembly,
                    got, regs, to_pc, c->class, c->regs, c->to_pc);
            failed = 1;
        }
    }
    if (!failed) {
        printf("classify: %zu encodings decoded as expected\n", sizeof CHECKS / sizeof CHECKS[0]);
    }
    return failed;
}
