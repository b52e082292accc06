#!/bin/sh
# Installs, from Debian, the system tools tinykit uses for the emulated board:
# the Arm cross compiler with newlib, QEMU (board mps2-an386) and socat; and the
# flash tools of real boards (tinykit.deploy.flash): bossac, OpenOCD, dfu-util and
# gdb-multiarch (loads firmware over a GDB stub: QEMU's, or a probe's); and espeak-ng,
# the speech synthesizer of tinykit.datasets.speak (spoken words for keyword training).
# Does nothing when they are already there.
set -e
missing=""
command -v arm-none-eabi-gcc >/dev/null 2>&1 || missing="$missing gcc-arm-none-eabi"
[ -d /usr/lib/arm-none-eabi/newlib ] || [ -d /usr/lib/arm-none-eabi/lib ] || missing="$missing libnewlib-arm-none-eabi"
command -v qemu-system-arm >/dev/null 2>&1 || missing="$missing qemu-system-arm"
command -v socat >/dev/null 2>&1 || missing="$missing socat"
command -v bossac >/dev/null 2>&1 || missing="$missing bossa-cli"
command -v openocd >/dev/null 2>&1 || missing="$missing openocd"
command -v dfu-util >/dev/null 2>&1 || missing="$missing dfu-util"
command -v gdb-multiarch >/dev/null 2>&1 || missing="$missing gdb-multiarch"
command -v espeak-ng >/dev/null 2>&1 || missing="$missing espeak-ng"
[ -z "$missing" ] && exit 0
echo "installing:$missing"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y -q $missing || { $SUDO apt-get update -q && $SUDO apt-get install -y -q $missing; }
