// What several commands share: the library path (--db, XSEARCH_DB, the default), the model folder
// (--model, XSEARCH_MODEL), terminal detection, and JSON output.
#pragma once

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/output.hpp"
#include "xsearch/library.hpp"

namespace xsearch::cli {

inline void add_db_option(CLI::App* cmd, std::string& db) {
  cmd->add_option("--db", db, "Library database file (default: $XSEARCH_DB or ~/.local/share/xsearch/library.db)");
}

inline std::filesystem::path resolve_db(const std::string& db) { return db.empty() ? default_library_path() : std::filesystem::path(db); }

inline std::string resolve_model(const std::string& model) {
  if (!model.empty()) return model;
  const char* env = std::getenv("XSEARCH_MODEL");
  return env ? env : "";
}

// A finite number: CLI11 reads "nan" and "inf" as doubles, and a NaN --min-score compares false with every
// score (nothing would be dropped, silently).
inline CLI::Validator finite_number() {
  return CLI::Validator(
      [](std::string& v) {
        char* end = nullptr;
        const double x = std::strtod(v.c_str(), &end);
        return !v.empty() && end && *end == '\0' && std::isfinite(x) ? std::string() : "expected a finite number, got " + v;
      },
      "NUMBER");
}

inline bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }
inline bool stdout_is_terminal() { return ::isatty(STDOUT_FILENO) == 1; }

// JSON for machines: one document, UTF-8; bytes of a path that are not UTF-8 become U+FFFD.
inline void write_json(const nlohmann::ordered_json& j) {
  write_stdout(j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n");
}

// "1:02:03.5" / "2:03.5" for humans.
inline std::string format_time(double seconds) {
  const auto total = static_cast<long long>(seconds * 10 + 0.5);
  const long long tenths = total % 10, s = total / 10 % 60, m = total / 600 % 60, h = total / 36000;
  char buf[32];
  if (h > 0) std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld.%lld", h, m, s, tenths);
  else std::snprintf(buf, sizeof buf, "%lld:%02lld.%lld", m, s, tenths);
  return buf;
}

}  // namespace xsearch::cli
