// What a host test feeds the sketch in place of the board's sensors (defined in
// host_sensors.cpp, behind the real libraries' declarations).
#ifndef TINYKIT_HOST_BOARD_H
#define TINYKIT_HOST_BOARD_H
#include <cstddef>
#include <cstdint>

// The IMU replays `count` rows (boards/mps2-an386/tflm/imu_replay.cpp, shared with the
// emulated board's tflm firmware).
void imu_replay(const float* rows, int count);

// The PDM microphone's DMA delivers `bytes` of s16le samples: they become readable
// and the sketch's onReceive callback runs, as in the real library's interrupt.
void host_pdm_deliver(const int16_t* samples, size_t bytes);

#endif
