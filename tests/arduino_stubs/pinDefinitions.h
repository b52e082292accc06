// Host stand-in for the mbed core's pinDefinitions.h (PDM.h includes it): pin tables
// are hardware, there is nothing for a host to declare.
#ifndef TINYKIT_HOST_PIN_DEFINITIONS_H
#define TINYKIT_HOST_PIN_DEFINITIONS_H
#endif
