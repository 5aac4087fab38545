/*
 * The instruction classes of edgenas's cycle model of Cortex-M cores, and the decoder that
 * puts a Thumb instruction into one (shared by the plugin, icount.c, and its test).
 */
#ifndef EDGENAS_CLASSIFY_H
#define EDGENAS_CLASSIFY_H

#include <stdint.h>

/* The instruction classes of the cycle model, in the order of the `table=` weights. */
enum class {
    ALU,            /* data processing, moves, compares, saturation, DSP SIMD, IT, hints */
    LOAD,           /* a load of one register (LDR, LDRB, LDRH, LDRSB, LDRSH, LDREX) */
    STORE,          /* a store of one register */
    PIPELINED,      /* a load or store single right after another in the same block */
    MULTIPLE,       /* LDM, STM, PUSH, POP, LDRD, STRD: plus REGS per register */
    REGS,           /* (per register of a load/store multiple) */
    MUL,            /* MUL, SMULxy, SMUAD, SMMUL and other multiplies without accumulation */
    MAC,            /* MLA, MLS, SMLAxy, SMLAD, SMLAL, UMLAL, SMULL, UMULL */
    DIV,            /* SDIV, UDIV */
    BRANCH,         /* a branch always taken (B, BL, BX, BLX, TBB, TBH, a write to PC) */
    COND_BRANCH,    /* B<cond>, CBZ, CBNZ: this weight, plus P when taken */
    FP_ALU,         /* VADD, VSUB, VMUL, VABS, VNEG, VCVT, VCMP, VMOV, VMRS */
    FP_MAC,         /* VMLA, VMLS, VNMLA, VNMLS, VFMA, VFMS, VFNMA, VFNMS */
    FP_DIV,         /* VDIV, VSQRT */
    FP_LOAD_STORE,  /* VLDR, VSTR */
    FP_MULTIPLE,    /* VLDM, VSTM, VPUSH, VPOP: plus REGS per word */
    CLASSES
};

static int popcount16(uint32_t v)
{
    return __builtin_popcount(v & 0xFFFF);
}

/*
 * The class of the Thumb instruction whose first halfword is `hw1` (and second `hw2`, for a
 * 32-bit one), after the ARMv7-M Architecture Reference Manual's encoding tables (A5.2, A5.3,
 * A7.7, A6.4). `regs` receives the registers of a load/store multiple, `to_pc` whether it
 * writes the PC (a branch).
 */
static enum class classify(uint32_t hw1, uint32_t hw2, int wide, int *regs, int *to_pc)
{
    *regs = 0;
    *to_pc = 0;
    if (!wide) {
        if ((hw1 & 0xFF00) == 0x4700) {
            return BRANCH; /* BX, BLX */
        }
        if ((hw1 & 0xFC00) == 0x4400 && (hw1 & 0x0087) == 0x0087 && (hw1 & 0x0300) != 0x0100) {
            return BRANCH; /* ADD PC, Rm or MOV PC, Rm */
        }
        if ((hw1 & 0xFFC0) == 0x4340) {
            return MUL; /* MULS */
        }
        if ((hw1 & 0xF800) == 0x4800) {
            return LOAD; /* LDR literal */
        }
        if ((hw1 & 0xF000) == 0x5000) {
            return ((hw1 >> 9) & 7) < 3 ? STORE : LOAD;
        }
        if ((hw1 & 0xE000) == 0x6000 || (hw1 & 0xE000) == 0x8000) {
            return (hw1 & 0x0800) ? LOAD : STORE; /* immediate, halfword, SP-relative */
        }
        if ((hw1 & 0xFE00) == 0xB400) {
            *regs = popcount16(hw1 & 0x1FF);
            return MULTIPLE; /* PUSH */
        }
        if ((hw1 & 0xFE00) == 0xBC00) {
            *regs = popcount16(hw1 & 0x1FF);
            *to_pc = (hw1 & 0x100) != 0;
            return MULTIPLE; /* POP */
        }
        if ((hw1 & 0xF500) == 0xB100) {
            return COND_BRANCH; /* CBZ, CBNZ */
        }
        if ((hw1 & 0xF000) == 0xC000) {
            *regs = popcount16(hw1 & 0xFF);
            return MULTIPLE; /* LDM, STM */
        }
        if ((hw1 & 0xF000) == 0xD000) {
            return ((hw1 >> 8) & 0xF) < 0xE ? COND_BRANCH : ALU; /* B<cond>; UDF, SVC */
        }
        if ((hw1 & 0xF800) == 0xE000) {
            return BRANCH; /* B */
        }
        return ALU;
    }
    if ((hw1 & 0xFE40) == 0xE800) {
        /* LDM, STM (and their PUSH, POP forms) */
        *regs = popcount16(hw2);
        *to_pc = (hw1 & 0x0010) && (hw2 & 0x8000);
        return MULTIPLE;
    }
    if ((hw1 & 0xFE40) == 0xE840) {
        if ((hw1 & 0xFFF0) == 0xE8D0 && (hw2 & 0xFFE0) == 0xF000) {
            return BRANCH; /* TBB, TBH */
        }
        if ((hw1 & 0x0120) == 0 && (hw1 & 0x0180) != 0x0100) {
            return (hw1 & 0x0010) ? LOAD : STORE; /* LDREX, STREX and kin */
        }
        *regs = 2;
        return MULTIPLE; /* LDRD, STRD */
    }
    if ((hw1 & 0xEE00) == 0xEC00) {
        /* Extension-register load and store: VLDR/VSTR, VLDM/VSTM, VPUSH/VPOP, VMOV pairs */
        if ((hw1 & 0xFFE0) == 0xEC40) {
            return FP_ALU;
        }
        if ((hw1 & 0x0120) == 0x0100) {
            return FP_LOAD_STORE;
        }
        *regs = hw2 & 0xFF;
        return FP_MULTIPLE;
    }
    if ((hw1 & 0xEF00) == 0xEE00) {
        if (hw2 & 0x0010) {
            return FP_ALU; /* transfers between core and extension registers, VMRS */
        }
        switch ((hw1 >> 4) & 0xB) {
        case 0x0: case 0x1: case 0x9: case 0xA:
            return FP_MAC;
        case 0x8:
            return FP_DIV;
        case 0xB:
            return ((hw1 & 0xF) == 0x1 && (hw2 & 0x00C0) == 0x00C0) ? FP_DIV : FP_ALU; /* VSQRT */
        default:
            return FP_ALU;
        }
    }
    if ((hw1 & 0xF800) == 0xF000 && (hw2 & 0x8000)) {
        /* Branches and miscellaneous control */
        if ((hw2 & 0x5000) == 0x0000) {
            return ((hw1 >> 6) & 0xF) < 0xE ? COND_BRANCH : ALU; /* B<cond>.W; MSR, barriers */
        }
        return BRANCH; /* B.W, BL */
    }
    if ((hw1 & 0xFE00) == 0xF800) {
        if (hw1 & 0x0010) {
            *to_pc = ((hw2 >> 12) & 0xF) == 0xF && (hw1 & 0x0060) == 0x0040; /* LDR PC */
            return LOAD;
        }
        return STORE;
    }
    if ((hw1 & 0xFF80) == 0xFB00) {
        return ((hw2 >> 12) & 0xF) == 0xF ? MUL : MAC; /* Ra = 1111: no accumulation */
    }
    if ((hw1 & 0xFF80) == 0xFB80) {
        int op1 = (hw1 >> 4) & 7;
        return (op1 == 1 || op1 == 3) ? DIV : MAC;
    }
    return ALU;
}

#endif
