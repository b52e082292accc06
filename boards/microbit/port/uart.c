/* UART0 of the BBC micro:bit: the nRF51822's UART (nRF51 Series Reference Manual v3.0,
 * chapter 29), polled, no interrupts, on the pins that reach the board's USB serial.
 * Its address, register offsets and pins come from board.toml through
 * firmware_config.h; uart_init also starts the crystal oscillator. Sending: clear
 * EVENTS_TXDRDY, write TXD, wait for EVENTS_TXDRDY. Receiving: EVENTS_RXDRDY says a
 * byte waits (the UART holds six); clear it, then read RXD. */
#include "uart.h"

#include "firmware_config.h"

#define UART_REG(offset) (*(volatile uint32_t *)(UART0_BASE + (offset)))
/* CLOCK (nRF51 RM v3.0, chapter 13): start the 16 MHz crystal, which the UART's baud
 * rate wants (the RC oscillator the chip starts on is less exact). */
#define CLOCK_HFCLKSTART   (*(volatile uint32_t *)0x40000000u)
#define CLOCK_HFCLKSTARTED (*(volatile uint32_t *)0x40000100u)
#define GPIO_PIN_CNF(pin) (*(volatile uint32_t *)(0x50000700u + 4u * (pin)))
#define GPIO_OUTSET       (*(volatile uint32_t *)0x50000508u)

static int started;

void uart_init(uint32_t baud)
{
    CLOCK_HFCLKSTARTED = 0u;
    CLOCK_HFCLKSTART = 1u;
    for (uint32_t n = 0; n < 1000000u && !CLOCK_HFCLKSTARTED; n++) {
        /* about 1 ms on the board; on the RC oscillator if it never starts */
    }
    /* TX: an output, high while idle (RM 29.2); RX: an input, connected. */
    GPIO_OUTSET = 1u << UART0_TX_PIN;
    GPIO_PIN_CNF(UART0_TX_PIN) = 1u;
    GPIO_PIN_CNF(UART0_RX_PIN) = 0u;
    UART_REG(UART0_PSELTXD_OFFSET) = UART0_TX_PIN;
    UART_REG(UART0_PSELRXD_OFFSET) = UART0_RX_PIN;
    /* BAUDRATE is baud * 2^32 / 16 MHz with its low 12 bits clear (RM table 287:
     * 115200 -> 0x01D7E000). */
    UART_REG(UART0_BAUDRATE_OFFSET) =
        (uint32_t)((((uint64_t)baud << 32) / BOARD_CLOCK_HZ) & ~(uint64_t)0xFFFu);
    UART_REG(UART0_ENABLE_OFFSET) = 4u;
    UART_REG(UART0_TXDRDY_OFFSET) = 0u;
    UART_REG(UART0_RXDRDY_OFFSET) = 0u;
    UART_REG(UART0_STARTTX_OFFSET) = 1u;
    UART_REG(UART0_STARTRX_OFFSET) = 1u;
    started = 1;
}

void uart_start_tx(void)
{
    if (!started) {
        uart_init(115200);
    }
}

void uart_putc(uint8_t c)
{
    UART_REG(UART0_TXDRDY_OFFSET) = 0u;
    UART_REG(UART0_TXD_OFFSET) = c;
    while (!UART_REG(UART0_TXDRDY_OFFSET)) {
    }
}

int uart_getc(void)
{
    if (!UART_REG(UART0_RXDRDY_OFFSET)) {
        return -1;
    }
    UART_REG(UART0_RXDRDY_OFFSET) = 0u;
    return (int)(UART_REG(UART0_RXD_OFFSET) & 0xFFu);
}
