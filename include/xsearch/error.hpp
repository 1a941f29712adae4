// The one exception type of xsearch: bad input, files or state. Messages read "what: cause", for example
// "model/config.json: vision_config.num_frames: expected an integer"; each layer adds its context in front.
#pragma once

#include <stdexcept>
#include <string>

namespace xsearch {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace xsearch
