/* tinykit device-check harness for QEMU mps2-an386 (Cortex-M4F): the generated plain-C
 * model (tk_model.c) answers input tensors the host sends over UART0 in tinykit's
 * frames (protocol in ../../common/tk_link.h; host: tinykit.deploy.evaluate_on_device).
 *
 *   HELLO            -> an INFO frame (JSON): board, sizes, the model's CRC-32, the
 *                       largest request payload, the counter ("none" until tk_cycles)
 *   INPUT chunk(s)   -> one ANSWER per chunk; the chunk completing the input runs the
 *                       model and its ANSWER holds the output tensor
 *   corrupt frame    -> an ANSWER with the error (CRC, COBS, length, too long), never a
 *                       crash; the host resends
 *
 * An answer with outputs also says what the inference took: its instructions (or
 * timer ticks) and the bytes of stack it used, measured: the stack below the caller is
 * painted before the call and the deepest word overwritten is found after it.
 *
 * This is the image a generated project builds (`make` in its folder) and flashes:
 * a real board then answers tinykit.deploy.evaluate_on_device on its serial port.
 *
 * Settings (firmware_config.h, from tinykit.deploy.emulated.build): BAUD,
 * TK_HARNESS_MAX_PAYLOAD (bytes of a request's payload, chunks of the input are at
 * most this minus the offset), TK_HARNESS_STOP_AFTER (tests: after this many answers
 * the board reads on but answers nothing more; 0: never). For the tests of the
 * emulated board: TK_FAULT_TEST=1 reads an unmapped address at start (a FAULT line),
 * TK_HANG_TEST=1 stops silently, TK_CYCLES_TEST=1 prints "loop <n>: <instructions>"
 * for counted loops of 2 n + 1 instructions, then "done", to check the count. */
#include <stdint.h>

#include "firmware_config.h"
#include "tk_cycles.h"
#include "tk_harness_model.h"
#include "tk_link.h"
#include "tk_model.h"
#include "uart.h"

#ifndef BAUD
#define BAUD 115200
#endif
#ifndef TK_HARNESS_MAX_PAYLOAD
#define TK_HARNESS_MAX_PAYLOAD 256
#endif
#ifndef TK_HARNESS_STOP_AFTER
#define TK_HARNESS_STOP_AFTER 0
#endif
#ifndef TK_FAULT_TEST
#define TK_FAULT_TEST 0
#endif
#ifndef TK_HANG_TEST
#define TK_HANG_TEST 0
#endif
#ifndef TK_CYCLES_TEST
#define TK_CYCLES_TEST 0
#endif
#define INFO_MAX 256
#define ANSWER_MAX (TK_LINK_ANSWER_HEADER + TK_MODEL_OUTPUT_SIZE)
#define SEND_MAX (ANSWER_MAX > INFO_MAX ? ANSWER_MAX : INFO_MAX)

/* -- The instruction count of one inference -------------------------------------
 * boards/common/tk_cycles: timer 0's ticks, and exact instructions under QEMU -icount
 * (tinykit.deploy.emulated.boot_harness turns it on and sets TK_ICOUNT_SHIFT). On a
 * board without that setting the answer carries timer ticks. */
#ifdef TK_ICOUNT_SHIFT
#define COUNTER_KIND "instructions"
#else
#define COUNTER_KIND "ticks"
#endif

static uint64_t counter_t0, counter_overhead;

static void counter_start(void)
{
    counter_t0 = tk_cycles_now();
}

static uint64_t counter_read(void)
{
    return tk_cycles_since(counter_t0, counter_overhead);
}

/* -- TK_CYCLES_TEST: loops of a known number of instructions --------------------- */
#if TK_CYCLES_TEST && defined(TK_ICOUNT_SHIFT)
/* 2 n + 1 instructions: mov, then n times subs and bne. (GCC passes Thumb-1 inline
 * assembly, the Cortex-M0's, in divided syntax: the loop asks for unified.) */
#if defined(__thumb2__)
#define TK_UNIFIED(text) text
#else
#define TK_UNIFIED(text) ".syntax unified\n" text ".syntax divided\n"
#endif
__attribute__((noinline)) static void count_loop(uint32_t n)
{
    __asm__ volatile(TK_UNIFIED("mov r0, %0\n"
                                "1: subs r0, r0, #1\n"
                                "bne 1b\n") : : "r"(n) : "r0", "cc");
}

static void cycles_test(void)
{
    static const uint32_t loops[] = {1, 1000, 123457, 3000000};
    char text[24];
    for (unsigned i = 0; i < sizeof loops / sizeof loops[0]; i++) {
        counter_start();
        count_loop(loops[i]);
        const uint64_t count = counter_read();
        uart_puts("loop ");
        uart_write(text, tk_text_uint(text, 0, sizeof text, loops[i]));
        uart_puts(": ");
        uart_write(text, tk_text_uint(text, 0, sizeof text, count));
        uart_puts("\r\n");
    }
    uart_puts("done\r\n");
}
#endif

/* -- The stack one inference uses ------------------------------------------------
 * The linker script's stack: _stack_size bytes below _estack (above .bss). Before the
 * call, every word from the stack's bottom to a little below the painter's own frame
 * gets STACK_PAINT; after it, the lowest word that lost it is the deepest the
 * inference reached. */
extern uint32_t _ebss, _estack, _stack_size;
#define STACK_PAINT 0xA55AC33Cu

static uint32_t *stack_bottom(void)
{
    uintptr_t bottom = (uintptr_t)&_estack - (uintptr_t)&_stack_size;
    return (uint32_t *)(bottom > (uintptr_t)&_ebss ? bottom : (uintptr_t)&_ebss);
}

static inline uintptr_t stack_pointer(void)
{
    uintptr_t sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    return sp;
}

__attribute__((noinline)) static void stack_paint(void)
{
    uint32_t *top = (uint32_t *)(stack_pointer() - 64u);
    for (uint32_t *p = stack_bottom(); p < top; p++) {
        *p = STACK_PAINT;
    }
}

/* Bytes between `from` (the caller's stack pointer) and the deepest painted word
 * overwritten since stack_paint. */
static uint32_t stack_used(uintptr_t from)
{
    uint32_t *p = stack_bottom();
    while ((uintptr_t)p < from && *p == STACK_PAINT) {
        p++;
    }
    return (uint32_t)(from - (uintptr_t)p);
}

/* -- Sending ------------------------------------------------------------------- */
static uint32_t tx_seq;         /* +1 per frame the board sends */
static uint32_t answers;        /* frames sent, for TK_HARNESS_STOP_AFTER */

static void send(uint8_t type, const void *payload, uint16_t n)
{
    static uint8_t raw[SEND_MAX + TK_FRAME_OVERHEAD];
    static uint8_t enc[TK_FRAME_ENCODED_MAX(SEND_MAX)];
    uart_write(enc, tk_frame_build(type, tx_seq++, payload, n, raw, enc));
    answers++;
}

static int8_t input[TK_MODEL_INPUT_SIZE];
static int8_t output[TK_MODEL_OUTPUT_SIZE];

static uint32_t stack_bytes;   /* of the last inference, in its answer */

static void answer(tk_link_status status, uint8_t detail, uint32_t request_seq,
                   uint32_t received, uint64_t count, int with_output)
{
    static uint8_t payload[ANSWER_MAX];
    tk_link_answer a = {(uint8_t)status, detail,
                        (uint16_t)(with_output ? (stack_bytes > 0xFFFFu ? 0xFFFFu : stack_bytes)
                                               : 0u),
                        request_seq, received, count};
    size_t n = tk_link_answer_pack(&a, payload);
    if (with_output) {
        for (int i = 0; i < TK_MODEL_OUTPUT_SIZE; i++) {
            payload[n++] = (uint8_t)output[i];
        }
    }
    send(TK_FRAME_TYPE_ANSWER, payload, (uint16_t)n);
}



static void send_info(uint32_t hello_seq)
{
    static char info[INFO_MAX];
    static const tk_info_field fields[] = {
        {"protocol", 1}, {"input_size", TK_MODEL_INPUT_SIZE},
        {"output_size", TK_MODEL_OUTPUT_SIZE}, {"max_payload", TK_HARNESS_MAX_PAYLOAD},
        {"model_crc32", TK_HARNESS_MODEL_CRC32}};
    size_t n = tk_link_info(info, INFO_MAX, "harness", BOARD_NAME, hello_seq, fields,
                            sizeof fields / sizeof fields[0]);
    n = tk_text(info, n, INFO_MAX, ",\"counter\":\"" COUNTER_KIND "\"}");
    send(TK_FRAME_TYPE_INFO, info, (uint16_t)n);
}

/* -- The requests ---------------------------------------------------------------- */
static int synced;              /* a HELLO has come: expect is set */
static uint32_t expect;         /* sequence number of the next new request */
static uint32_t received;       /* bytes of the current input received */

static void run_model(uint32_t seq)
{
    stack_paint();
    const uintptr_t sp = stack_pointer();
    counter_start();
    tk_status status = tk_model_invoke(input, output);
    uint64_t count = counter_read();
    stack_bytes = stack_used(sp);
    if (status != TK_OK) {
        answer(TK_LINK_MODEL_ERROR, (uint8_t)status, seq, received, 0, 0);
    } else {
        answer(TK_LINK_OK, 0, seq, received, count, 1);
    }
}


static void on_input(const tk_frame_in *f)
{
    if (f->length <= TK_LINK_INPUT_HEADER) {
        answer(TK_LINK_BAD_REQUEST, 0, f->seq, received, 0, 0);
        return;
    }
    uint32_t offset = (uint32_t)tk_get_le(f->payload, 4);
    uint32_t n = f->length - TK_LINK_INPUT_HEADER;
    if (synced && f->seq == expect - 1u) {
        /* The last request again: its answer was lost. Answer it again. */
        if (offset + n == TK_MODEL_INPUT_SIZE && received == TK_MODEL_INPUT_SIZE) {
            run_model(f->seq);
        } else {
            answer(TK_LINK_OK, 0, f->seq, received, 0, 0);
        }
        return;
    }
    if (!synced || f->seq != expect) {
        answer(TK_LINK_OUT_OF_SEQUENCE, 0, f->seq, received, 0, 0);
        return;
    }
    if (offset != 0 && (offset != received || received == TK_MODEL_INPUT_SIZE)) {
        answer(TK_LINK_BAD_REQUEST, 1, f->seq, received, 0, 0);
        return;
    }
    if (offset > TK_MODEL_INPUT_SIZE || n > TK_MODEL_INPUT_SIZE - offset) {
        answer(TK_LINK_BAD_REQUEST, 2, f->seq, received, 0, 0);
        return;
    }
    for (uint32_t i = 0; i < n; i++) {
        input[offset + i] = (int8_t)f->payload[TK_LINK_INPUT_HEADER + i];
    }
    received = offset + n;
    expect = f->seq + 1u;
    if (received == TK_MODEL_INPUT_SIZE) {
        run_model(f->seq);
    } else {
        answer(TK_LINK_OK, 0, f->seq, received, 0, 0);
    }
}

static void on_frame(const tk_frame_in *f)
{
    if (f->type == TK_FRAME_TYPE_HELLO) {
        synced = 1;
        expect = f->seq + 1u;
        received = 0;
        send_info(f->seq);
    } else if (f->type == TK_FRAME_TYPE_INPUT) {
        on_input(f);
    } else {
        answer(TK_LINK_BAD_REQUEST, 3, f->seq, received, 0, 0);
    }
}

int main(void)
{
    static uint8_t rx[TK_FRAME_ENCODED_MAX(TK_HARNESS_MAX_PAYLOAD)];
    tk_frame_reader reader;
    tk_frame_in frame;
    uart_init(BAUD);
    if (TK_FAULT_TEST == 1) {
        (void)*(volatile uint32_t *)0xDEAD0000u;
    }
    while (TK_HANG_TEST) {
        __asm__ volatile("wfi");
    }
    tk_cycles_init();
    counter_overhead = tk_cycles_overhead();
#if TK_CYCLES_TEST && defined(TK_ICOUNT_SHIFT)
    cycles_test();
#endif
    tk_frame_reader_init(&reader, rx, sizeof rx);
    for (;;) {
        int c = uart_getc();
        if (c < 0 || (TK_HARNESS_STOP_AFTER > 0 && answers >= TK_HARNESS_STOP_AFTER)) {
            continue;
        }
        tk_link_status status = tk_frame_reader_feed(&reader, (uint8_t)c, &frame);
        if (status == TK_LINK_OK) {
            on_frame(&frame);
        } else if (status != TK_LINK_PENDING) {
            /* A corrupt frame: say so with the request expected next. */
            answer(status, 0, expect, received, 0, 0);
        }
    }
}
