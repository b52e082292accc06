// Host stand-in for TFLM's MicroMutableOpResolver<N>: counts registrations and fails,
// as TFLM does, when more ops are added than the resolver was sized for.
#ifndef TINYKIT_STUB_RESOLVER_H
#define TINYKIT_STUB_RESOLVER_H
enum TfLiteStatus { kTfLiteOk = 0, kTfLiteError = 1 };

namespace tflite {
template <unsigned N>
class MicroMutableOpResolver {
 public:
  unsigned registered = 0;
#define TINYKIT_STUB_OP(name) \
  TfLiteStatus name() { return ++registered <= N ? kTfLiteOk : kTfLiteError; }
  TINYKIT_STUB_OP(AddConv2D)
  TINYKIT_STUB_OP(AddDepthwiseConv2D)
  TINYKIT_STUB_OP(AddMaxPool2D)
  TINYKIT_STUB_OP(AddAveragePool2D)
  TINYKIT_STUB_OP(AddFullyConnected)
  TINYKIT_STUB_OP(AddSoftmax)
  TINYKIT_STUB_OP(AddReshape)
  TINYKIT_STUB_OP(AddQuantize)
  TINYKIT_STUB_OP(AddMean)
#undef TINYKIT_STUB_OP
};
}  // namespace tflite
#endif
