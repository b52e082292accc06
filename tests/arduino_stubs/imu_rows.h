// The recorded rows a host test feeds the IMU stand-ins of the BMI270, LSM6DSOX and
// LSM6DS3 libraries (imu_rows.cpp; imu_replay(), declared in host_board.h, sets them).
// A row is one sample: aX,aY,aZ in g, gX,gY,gZ in degrees/s, as IMU_Capture writes.
#ifndef TINYKIT_IMU_ROWS_H
#define TINYKIT_IMU_ROWS_H

// Whether a row is left to read (the sensor's "data ready").
bool imu_row_ready();
// The next row (its acceleration is read), or nullptr when none is left.
const float* imu_row_next();
// The row imu_row_next() last returned (its gyroscope is read), or nullptr.
const float* imu_row_current();

// The next row's acceleration (g) / the current row's angular rate (degrees/s): 1, or
// 0 when there is no such row, as the Arduino IMU libraries' read functions return.
int imu_read_acceleration(float& x, float& y, float& z);
int imu_read_gyroscope(float& x, float& y, float& z);

#endif
