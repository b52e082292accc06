// Host stand-in for a core's SPI.h: a host has no SPI bus. ArduinoCore-API's
// HardwareSPI.h declares SPISettings and the SPIClass the sensor libraries name (the
// LSM6DSOX library keeps an SPIClass reference and SPISettings; a host test never uses
// them, its register access being replaced by a stand-in).
#ifndef TINYKIT_HOST_SPI_H
#define TINYKIT_HOST_SPI_H
#include "Arduino.h"
#include "api/HardwareSPI.h"

#endif
