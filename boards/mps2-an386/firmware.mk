# What every firmware of this board shares; each firmware's Makefile sets NAME (the
# ELF's name) and SRCS (its own sources), then includes this file.
#
# tinykit.deploy.emulated.build runs make in a build folder, never here:
#
#   make -f <firmware folder>/Makefile GEN=<dir> BUILD=<dir> CPU="<board.toml cpu_flags>" \
#        RUNTIME=<tinykit's C runtime, tinykit._resources.runtime_dir()>
#     -> $(BUILD)/$(NAME).elf
#
# GEN holds the generated sources, firmware_config.h among them (the board's clock and
# UART0 from board.toml, and the build's settings). Every firmware gets the board's
# port: its UART driver (uart.c) and, when the port has them, its own startup.c and
# linker script (else capture/'s, for any Armv7-M or Armv8-M core); boards/common
# (frames, the link protocol, the instruction counter, text on the UART) and tinykit's
# C runtime (kernels, fast kernels, audio front end); --gc-sections keeps only what it
# uses. PORT is capture/ (this board's) unless board.toml's `port` names another
# folder (PORT=<folder>, e.g. boards/netduinoplus2/port). Besides the ELF, the build
# writes the images a flash tool takes: $(NAME).bin (from the first flash address)
# and $(NAME).hex (Intel HEX). Nothing is written outside BUILD.
CROSS   ?= arm-none-eabi-
CC      := $(CROSS)gcc
BOARD_DIR := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
PORT    ?= $(BOARD_DIR)/capture
STARTUP := $(firstword $(wildcard $(PORT)/startup.c) $(BOARD_DIR)/capture/startup.c)
LDSCRIPT := $(firstword $(wildcard $(PORT)/*.ld) $(BOARD_DIR)/capture/mps2-an386.ld)
SHARED  := $(abspath $(BOARD_DIR)/../common)
$(foreach v,GEN BUILD CPU RUNTIME,$(if $($(v)),,$(error $(v) is not set: see $(BOARD_DIR)/firmware.mk)))

CFLAGS  := $(CPU) -O2 -g -std=c11 -Wall -Wextra -Werror=implicit-function-declaration \
           -ffunction-sections -fdata-sections
CFLAGS  += -I$(GEN) -I$(RUNTIME) -I$(PORT) -I$(SHARED)
LDFLAGS := $(CPU) -L$(GEN) -T $(LDSCRIPT) -nostartfiles --specs=nano.specs --specs=nosys.specs
LDFLAGS += -Wl,--gc-sections -Wl,-Map=$(BUILD)/$(NAME).map
# In a fixed order that does not depend on where the folders are (the link order sets
# the layout, so a project built with `make` in its folder and the same project built
# in tinykit's cache give the same bytes).
SRCS    += $(STARTUP) $(PORT)/uart.c $(sort $(wildcard $(SHARED)/*.c)) \
           $(sort $(wildcard $(RUNTIME)/*.c)) $(sort $(wildcard $(GEN)/*.c))
HDRS    := $(wildcard $(PORT)/*.h $(BOARD_DIR)/capture/*.h $(SHARED)/*.h $(RUNTIME)/*.h $(GEN)/*.h)
ELF     := $(BUILD)/$(NAME).elf

.PHONY: all
all: $(ELF) $(ELF:.elf=.bin) $(ELF:.elf=.hex)

$(ELF): $(SRCS) $(HDRS) $(LDSCRIPT) $(GEN)/memory.ld $(MAKEFILE_LIST)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) $(SRCS) $(LDFLAGS) -lm -o $@

%.bin: %.elf
	$(CROSS)objcopy -O binary $< $@

%.hex: %.elf
	$(CROSS)objcopy -O ihex $< $@
