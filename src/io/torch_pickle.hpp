// The pickle inside a torch.save checkpoint (`ARCHIVE/data.pkl`), read without executing anything: a small
// interpreter for the opcodes torch.save emits (protocol 2, plus the harmless protocol-4 framing) that knows
// exactly the globals a state dict needs and refuses every other one by name. No LibTorch, no Python.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "xsearch/host_tensor.hpp"

namespace xsearch::torch_bin {

// One tensor of the state dict as the pickle describes it: a view (offset, shape, strides, in elements) of
// a storage stored in the archive as `ARCHIVE/data/KEY` with `storage_numel` elements of `dtype`.
struct TensorRef {
  std::string name;
  std::string storage_key;
  DType dtype = DType::F32;
  int64_t storage_numel = 0;
  int64_t offset = 0;
  std::vector<int64_t> shape;
  std::vector<int64_t> stride;
};

// Interprets `size` bytes of a state-dict pickle: a dict (or OrderedDict) from names to tensors. Throws
// xsearch::Error("`where`: cause") on anything else: an unknown opcode, a global outside the allowed set
// (named in the message), a malformed tensor, truncated data. The tensors keep the dict's order.
std::vector<TensorRef> read_state_dict_pickle(const uint8_t* data, std::size_t size, const std::string& where);

}  // namespace xsearch::torch_bin
