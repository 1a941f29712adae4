// Cutting a segment [start, end) of a video into a file of its own, with FFmpeg's libraries: by stream
// copy from the nearest keyframe at or before `start` (fast, lossless, within a GOP), or by decoding and
// encoding exactly the frames whose presentation times lie in [start, end) (frame-accurate). Times are
// seconds as the library stores them: from the container's start time.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

namespace xsearch::media {

struct EncodeOptions {
  std::string encoder;    // libavcodec encoder name; "" picks the first usable of default_encoders()
  std::string format;     // muxer name ("mp4", "webm", ...); "" guesses from the output file name
  int max_height = 0;     // scale down to at most this many lines (0: keep the size)
  bool square_pixels = false;  // scale to the display aspect with square pixels (else keep the sample aspect)
  int quality = 20;       // x264/x265 CRF, VP9/AV1 CRF (lower is better)
  std::string preset = "fast";  // x264 preset
  double gop_seconds = 2; // a keyframe at least this often (seeking in a browser)
  bool browser_audio_only = false;  // keep only audio a browser plays (AAC, MP3, Opus, Vorbis, FLAC)
};

struct CutResult {
  double first = 0;     // source time of the output's first frame
  double last_end = 0;  // source time of the output's last frame plus its duration
  long long frames = 0; // video frames written
  double fps = 0;       // the source's frame rate (libavformat's guess)
  std::string video_codec;  // what the output's video is ("h264", or the copied codec)
  int audio_streams = 0;    // audio streams copied
  std::string note;         // why audio was left out, when it was
  std::size_t early_audio_bytes = 0;  // cut_exact: the most audio it held before the first frame was known
};

// The audio cut_exact holds while it looks for the segment's first video frame (it is written once that
// frame's time is known). A file whose audio runs far ahead of its video, or whose video stops before
// the segment while its audio goes on, would otherwise be held whole in memory; beyond this the oldest
// packets are dropped (audio that far before the first frame is cut off anyway; when some of it was
// not, CutResult::note says so). 8 MiB is 44 s of 48 kHz stereo 16-bit PCM and hours of AAC, where a
// well-interleaved file needs well under a second of it.
constexpr std::size_t kMaxEarlyAudioBytes = 8u << 20;

// Stream copy: every stream's packets from the last video keyframe at or before `start` (the first one
// when none is) up to the packets needed to show every frame before `end`; audio packets of that span.
// The output format comes from `format` or the output file name. Throws xsearch::Error naming the file.
CutResult cut_copy(const std::filesystem::path& input, double start, double end, const std::filesystem::path& output,
                   const std::string& format = "");

// Re-encode: the frames whose times lie in [start, end), with the output starting at time 0; audio packets
// of that span are copied when the output format takes their codec. Throws xsearch::Error naming the file.
CutResult cut_exact(const std::filesystem::path& input, double start, double end, const std::filesystem::path& output,
                    const EncodeOptions& options);

// The muxer to stream-copy `input` into: its own container when libavformat can write it and takes its
// streams' codecs, else Matroska. Returns {muxer name, file extension without the dot}.
std::pair<std::string, std::string> copy_container(const std::filesystem::path& input);

}  // namespace xsearch::media
