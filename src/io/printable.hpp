// Untrusted bytes (a server's header, a name inside a file) made safe to show in an error message.
#pragma once

#include <cstddef>
#include <string>

namespace xsearch {

// `s` with every byte outside printable ASCII written as \xNN. With `max_chars`, the output stops once it
// reaches that length and ends with "..." (a hostile value can be long).
std::string printable(const std::string& s, std::size_t max_chars = std::string::npos);

}  // namespace xsearch
