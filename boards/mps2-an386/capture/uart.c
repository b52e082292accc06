/* UART0 of the board (a CMSDK APB UART: DATA, STATE bit0 TX full and bit1 RX full,
 * CTRL bit0 TX enable and bit1 RX enable, BAUDDIV), polled, no interrupts. Its address, register offsets
 * and the clock come from board.toml through the generated firmware_config.h. */
#include "uart.h"

#include "firmware_config.h"

#define UART_REG(offset) (*(volatile uint32_t *)(UART0_BASE + (offset)))
#define UART_DATA    UART_REG(UART0_DATA_OFFSET)
#define UART_STATE   UART_REG(UART0_STATE_OFFSET)
#define UART_CTRL    UART_REG(UART0_CTRL_OFFSET)
#define UART_BAUDDIV UART_REG(UART0_BAUDDIV_OFFSET)
#define STATE_TX_FULL 0x1u
#define STATE_RX_FULL 0x2u
#define CTRL_TX_EN    0x1u
#define CTRL_RX_EN    0x2u

void uart_init(uint32_t baud)
{
    uint32_t div = BOARD_CLOCK_HZ / baud;
    UART_BAUDDIV = div < 16 ? 16 : div;
    UART_CTRL = CTRL_TX_EN | CTRL_RX_EN;
}

void uart_start_tx(void)
{
    if (!(UART_CTRL & CTRL_TX_EN)) {
        uart_init(115200);
    }
}

void uart_putc(uint8_t c)
{
    while (UART_STATE & STATE_TX_FULL) {
    }
    UART_DATA = c;
}

int uart_getc(void)
{
    if (!(UART_STATE & STATE_RX_FULL)) {
        return -1;
    }
    return (int)(UART_DATA & 0xFFu);
}
