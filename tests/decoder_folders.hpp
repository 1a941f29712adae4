// What the several-decoder tests (test_ingest_decoders*.cpp) build and compare: a folder whose first video
// is much longer than the others, and a library's rows and embeddings as one string or list to compare.
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "helpers.hpp"
#include "library_helpers.hpp"

namespace xsearch::test {

// One video per name, the first (in the plan's sorted order) `first_seconds` long and the others 3 s: with
// two or more decoders the short ones finish first, so an ingest that committed videos as they became
// ready would store them before it.
inline std::vector<fs::path> make_folder(const fs::path& dir, int first_seconds = 24) {
  std::vector<fs::path> paths;
  const char* sources[] = {"testsrc2", "mandelbrot", "smptebars", "rgbtestsrc", "yuvtestsrc"};
  for (int i = 0; i < 5; ++i) {
    paths.push_back(dir / ("v" + std::to_string(i) + ".mp4"));
    make_video(paths.back(), sources[i], i == 0 ? first_seconds : 3);
  }
  return paths;
}

// The library's videos, in id order: path, duration, frame rate, size and status.
inline std::string stored_rows(const fs::path& db) {
  return sqlite_value(db, "SELECT group_concat(path || ' ' || duration || ' ' || fps || ' ' || width || 'x' || height || ' ' || status, '|') "
                          "FROM (SELECT * FROM videos ORDER BY id)");
}

// Every stored clip's path, times and embedding, in the library's order (video id, then start).
inline std::vector<nlohmann::json> embeddings(const fs::path& db) {
  const Result r = xsearch_run("dev embeddings --db " + quote(db.string()));
  INFO(r.err);
  REQUIRE(r.status == 0);
  std::vector<nlohmann::json> lines;
  std::istringstream out(r.out);
  for (std::string line; std::getline(out, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

}  // namespace xsearch::test
