// The audio a re-encode holds before the segment's first video frame is bounded (issue 25, "audio
// buffered before the first video frame"): a file whose video pauses for 73 s while its audio goes on
// (about 12 MB of PCM read before the segment's first frame) is cut with at most media::kMaxEarlyAudioBytes of it in memory,
// and the output still has the audio of the segment.
#include "library_helpers.hpp"
#include "media/av_util.hpp"
#include "media/segment.hpp"

using namespace xsearch;
using test::fs::path;

TEST_CASE("cut_exact holds a bounded amount of audio before the first video frame", "[media]") {
  test::TempDir tmp;
  // Video: 0 to 2 s, then 75 to 77 s (a keyframe at each start); audio: 16-bit stereo PCM at 48 kHz
  // from 0 to 80 s, 192 KB a second. A segment from 10 s has its first frame at 75 s: the 65 s of audio
  // from 9 s on (one second before the segment, as cut_exact keeps) come first, 12.5 MB.
  const path source = tmp / "paused_video.mkv";
  test::ffmpeg("-f lavfi -i testsrc2=size=160x120:rate=10 -f lavfi -i sine=frequency=440:sample_rate=48000 -map 0:v -map 1:a -t:v 4 "
               "-t:a 80 -vf \"setpts=if(gte(N\\,20)\\,PTS+73/TB\\,PTS)\" -fps_mode passthrough -g 20 -ac 2 -c:v libx264 -preset ultrafast "
               "-pix_fmt yuv420p -c:a pcm_s16le " +
               test::quote(source.string()));
  media::EncodeOptions o;
  o.preset = "ultrafast";
  const path out = tmp / "cut.mkv";
  const media::CutResult r = media::cut_exact(source, 10, 76, out, o);
  INFO("held " << r.early_audio_bytes << " bytes of early audio; note: " << r.note);
  CHECK(r.frames == 10);
  CHECK(r.first == Approx(75).margin(0.01));
  CHECK(r.early_audio_bytes <= media::kMaxEarlyAudioBytes);
  // The bound was reached (the test reads more early audio than it allows) ...
  CHECK(r.early_audio_bytes > media::kMaxEarlyAudioBytes - 64 * 1024);
  // ... and what was dropped lay before the first frame, which is cut off anyway: the audio from 75 s is there.
  CHECK(r.note.empty());
  CHECK(r.audio_streams == 1);
  const media::Input cut = media::open_input(out);
  int audio = -1;
  for (unsigned i = 0; i < cut.fmt->nb_streams; ++i)
    if (cut.fmt->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO) audio = static_cast<int>(i);
  REQUIRE(audio >= 0);
  media::PacketPtr p = media::new_packet();
  std::size_t audio_bytes = 0;
  while (av_read_frame(cut.fmt.get(), p.get()) >= 0) {
    if (p->stream_index == audio) audio_bytes += static_cast<std::size_t>(p->size);
    av_packet_unref(p.get());
  }
  // About 1 s of it (75 to 76 s): 192,000 bytes; at least most of it.
  CHECK(audio_bytes > 150000);
}
