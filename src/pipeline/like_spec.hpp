// `query --like PATH[@TIME]` and `--video PATH[@TIME]`: which clip of which video to search with. TIME is
// what xsearch prints ("1:02:03.5", "2:03.5") or plain seconds ("123.5"); PATH alone means the video's
// start (0 s).
#pragma once

#include <optional>
#include <string>

namespace xsearch::pipeline {

// Seconds from "S", "M:S" or "H:M:S" (each part a number, the last may have a fraction; minutes and
// seconds below 60 after the first part); nullopt when it is none of these or negative.
std::optional<double> parse_time(const std::string& text);

struct LikeSpec {
  std::string path;   // absolute, normalised
  double seconds = 0;
  // Set when the text after the last '@' is not a time: then the whole argument was taken as the path
  // (a file name may hold '@'), and this says why it was not a time, for the error when no such video.
  std::string time_error;
};

// Splits at the last '@' whose tail is a time; else the whole argument is the path and the time is 0.
// Throws xsearch::Error for an empty path, naming `option` ("--like", "--video").
LikeSpec parse_like(const std::string& like, const std::string& option = "--like");

}  // namespace xsearch::pipeline
