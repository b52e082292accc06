// Host stand-in for the core's Wire.h: a host has no I2C bus. The sensor libraries
// only keep a reference to it (their register access is replaced by host_sensors.cpp).
#ifndef TINYKIT_HOST_WIRE_H
#define TINYKIT_HOST_WIRE_H
#include "Arduino.h"

class TwoWire {};
extern TwoWire Wire;

#endif
