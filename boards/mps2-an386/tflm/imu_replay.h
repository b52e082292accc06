// The real Arduino_LSM9DS1 class replaying recorded rows in place of the sensor's
// registers (imu_replay.cpp): for the emulated board's tflm firmware and for host tests
// of the generated sketches, one stand-in for both.
#ifndef TINYKIT_IMU_REPLAY_H
#define TINYKIT_IMU_REPLAY_H

// The IMU replays `count` rows (aX,aY,aZ in g, gX,gY,gZ in degrees/s): each
// acceleration read returns the next row, a gyroscope read that row's gyroscope.
void imu_replay(const float* rows, int count);

#endif
