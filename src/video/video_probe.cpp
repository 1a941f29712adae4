// Finding videos by their content: FFmpeg's format probe on the first bytes of a file.
extern "C" {
#include <libavformat/avformat.h>
}

#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "xsearch/video.hpp"

namespace xsearch {

bool probe_video_container(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::vector<unsigned char> buf(64 * 1024 + AVPROBE_PADDING_SIZE, 0);
  in.read(reinterpret_cast<char*>(buf.data()), 64 * 1024);
  const auto n = static_cast<int>(in.gcount());
  if (n <= 0) return false;
  AVProbeData pd{};
  const std::string name = path.filename().string();
  pd.filename = name.c_str();
  pd.buf = buf.data();
  pd.buf_size = n;
  int score = 0;
  const AVInputFormat* f = av_probe_input_format3(&pd, 1, &score);
  if (!f || score < AVPROBE_SCORE_EXTENSION) return false;
  // Containers that hold still images, audio or text only are not videos.
  static const std::set<std::string> not_video = {"image2", "tty", "srt", "ass", "webvtt", "mp3", "wav", "flac",
                                                  "aac", "ac3", "lrc", "subviewer", "microdvd", "jacosub",
                                                  "sami", "realtext", "ffmetadata", "txt"};
  const std::string fmt = f->name;
  if (not_video.count(fmt) || fmt.find("_pipe") != std::string::npos) return false;
  return true;
}

}  // namespace xsearch
