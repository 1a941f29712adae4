// Settings read from the environment.
#pragma once

#include <string>

#include "xsearch/error.hpp"

namespace xsearch {

// `value` of the variable `name` as a whole number of seconds from 1 to 86400 (a day); anything else
// (a sign, a unit, a space, 0) throws xsearch::Error naming the variable and the value.
inline int whole_seconds_setting(const char* name, const std::string& value) {
  if (value.empty() || value.size() > 5 || value.find_first_not_of("0123456789") != std::string::npos || std::stoi(value) < 1 ||
      std::stoi(value) > 86400)
    throw Error(std::string(name) + ": expected a whole number of seconds from 1 to 86400, got \"" + value.substr(0, 40) + "\"");
  return std::stoi(value);
}

}  // namespace xsearch
