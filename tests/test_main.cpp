// Catch2 v2 makes its main() in the one file that defines CATCH_CONFIG_MAIN; v3 links Catch2::Catch2WithMain
// instead (tests/CMakeLists.txt), and this file is empty there.
#ifndef XSEARCH_CATCH2_V3
#define CATCH_CONFIG_MAIN
#include "catch_compat.hpp"
#endif
