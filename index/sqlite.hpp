// The SQLite backend of the library's database (database.hpp): a file, WAL, one writer at a time.
#pragma once

#include "database.hpp"
