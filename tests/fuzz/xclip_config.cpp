// Fuzz target: config.json parsing (parse_xclip_config in src/model/config.cpp). A config that parses must
// write back (xclip_config_to_json) to JSON that parses to the same config; bad input must end in
// xsearch::Error.
#include <string>

#include "xsearch/config.hpp"
#include "xsearch/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto config = xsearch::parse_xclip_config(text, "config.json");
    const std::string written = xsearch::xclip_config_to_json(config);
    const auto again = xsearch::parse_xclip_config(written, "written config.json");
    if (xsearch::xclip_config_to_json(again) != written) __builtin_trap();
  } catch (const xsearch::Error&) {
  }
  return 0;
}
