// Host stand-in for TFLite's schema header: only the version the sketches check.
#ifndef TINYKIT_STUB_SCHEMA_H
#define TINYKIT_STUB_SCHEMA_H
#define TFLITE_SCHEMA_VERSION 3
#endif
