// Fuzz target: the restricted unpickler that reads a pytorch_model.bin's data.pkl (src/io/torch_pickle.cpp).
// It must never execute or construct anything but tensors and plain containers: any other global, a
// malformed opcode stream, a reference to a missing memo entry or a stack underflow must end in
// xsearch::Error. Tensors that come out must have shapes and strides whose extents do not overflow.
#include <string>

#include "io/torch_pickle.hpp"
#include "xsearch/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto tensors = xsearch::torch_bin::read_state_dict_pickle(data, size, "fuzz/data.pkl");
    for (const auto& t : tensors) (void)t;
  } catch (const xsearch::Error&) {
  }
  return 0;
}
