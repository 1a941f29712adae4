// How the ingest stages speak: errors and warnings go to the caller's observer ("path: cause"), files
// that failed are counted in the report.
#pragma once

#include <string>

#include "xsearch/ingest.hpp"

namespace xsearch::pipeline {

class Reporter {
 public:
  Reporter(const IngestObserver& observer, IngestReport& report) : observer_(observer), report_(report) {}

  void error(const std::string& path, const std::string& cause) const {
    if (observer_.on_error) observer_.on_error(path + ": " + cause);
  }
  void warning(const std::string& path, const std::string& cause) const {
    if (observer_.on_warning) observer_.on_warning(path + ": " + cause);
  }
  // A file that could not be indexed: reported, counted, listed in the report.
  void failure(const std::string& path, const std::string& cause) const {
    error(path, cause);
    ++report_.summary.failed;
    report_.failures.emplace_back(path, cause);
  }
  // A video indexed up to the point where its file is damaged or cut short.
  void partial(const std::string& path, const std::string& cause) const {
    error(path, cause);
    report_.partials.emplace_back(path, cause);
  }
  // A file passed over as not a video: counted and listed in the report, and said on stderr (as a
  // warning) when `say`: a file that looked like a video. Text, subtitles and photos beside the videos
  // are only counted (a photo folder would flood the terminal).
  void not_video(const std::string& path, const std::string& cause, bool say) const {
    if (say) warning(path, cause);
    ++report_.summary.not_video;
    report_.not_videos.emplace_back(path, cause);
  }
  // A file that failed in an earlier run and has not changed since: not tried again, said and listed.
  void failed_unchanged(const std::string& path, const std::string& cause) const {
    error(path, "failed in an earlier run and unchanged since, not retried (" + cause + ")");
    report_.failed_unchanged.emplace_back(path, cause);
  }
  RunSummary& summary() const { return report_.summary; }
  IngestReport& report() const { return report_; }

 private:
  const IngestObserver& observer_;
  IngestReport& report_;
};

// "path: cause" -> "cause".
inline std::string cause_of(const std::string& message, const std::string& path) {
  const std::string prefix = path + ": ";
  return message.compare(0, prefix.size(), prefix) == 0 ? message.substr(prefix.size()) : message;
}

}  // namespace xsearch::pipeline
