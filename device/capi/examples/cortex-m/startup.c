/* Start-up for the example on a Cortex-M4F under QEMU: the vector table, then the FPU turned
 * on (the hard-float code needs it) and newlib's semihosting start-up (rdimon's _start: stack,
 * .bss, stdio through the debugger, main, exit). */
#include <stdint.h>

extern void _start(void);
extern uint32_t __stack;

void Reset_Handler(void) {
    /* CPACR: full access to the coprocessors CP10 and CP11 (the FPU). */
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;
    __asm volatile("dsb\n\tisb");
    _start();
    for (;;) {
    }
}

static void Fault_Handler(void) {
    for (;;) {
    }
}

__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))(&__stack), Reset_Handler, Fault_Handler, Fault_Handler,
    Fault_Handler,              Fault_Handler, Fault_Handler, 0,
    0,                          0,             0,             Fault_Handler,
    Fault_Handler,              0,             Fault_Handler, Fault_Handler,
};
