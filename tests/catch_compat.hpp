// Catch2 v2 (Debian 12: one header, catch2/catch.hpp) and v3 (Debian 13, Ubuntu 24.04, the GPU machine's
// image: a compiled library, catch2/catch_all.hpp) from the same test sources. tests/CMakeLists.txt picks the
// version from the Catch2 CMake package it found and defines XSEARCH_CATCH2_V3 for v3, so that header and
// library always come from the same install (a v3 package with a v2 header broke test discovery once).
#pragma once

#ifdef XSEARCH_CATCH2_V3
#include <catch2/catch_all.hpp>

#include <string>

// The v2 spellings the tests use. v3 moved Approx into Catch:: and the string matchers into
// Catch::Matchers::, where Contains became ContainsSubstring (Contains now means "a range holds").
using Catch::Approx;
namespace Catch {
using Matchers::EndsWith;
using Matchers::Equals;
using Matchers::StartsWith;
inline Matchers::StringContainsMatcher Contains(const std::string& needle,
                                                CaseSensitive case_sensitivity = CaseSensitive::Yes) {
  return Matchers::ContainsSubstring(needle, case_sensitivity);
}
}  // namespace Catch
#else
#include <catch2/catch.hpp>
#endif
