// Selective decoding for VideoReader::frames_at_times (video_reader.cpp includes this file, nothing else
// does). The sampling rule picks, for each target time, the first frame at or after it; a packet's
// presentation timestamp tells before decoding whether its frame can be such a frame. This class decides,
// packet by packet, whether the decoder may drop the packet's frame if it is a non-reference frame
// (AVCodecContext::skip_frame = AVDISCARD_NONREF, set per packet: frame threads copy it at each packet),
// and checks that what comes out is what a full decode gives. When it cannot vouch for that, the reader
// decodes the video again in full (irregular()).
//
// Why the chosen frames are those of a full decode, byte for byte:
// 1. Dropping a non-reference frame changes no other frame, for the codecs of codec_allows() only:
//    - H.264: a picture with nal_ref_idc 0 is never used for prediction (the standard), and FFmpeg drops its
//      NAL units before parsing their slice headers, so no decoder state (POC, frame_num) moves either;
//    - HEVC: FFmpeg drops every sub-layer non-reference NAL type (TRAIL_N, TSA_N, STSA_N, RADL_N, RASL_N).
//      Such a picture may still be a reference for pictures of a higher temporal sub-layer, so only
//      streams whose hvcC record says there is a single temporal layer;
//    - MPEG-4 Part 2, MPEG-1 and MPEG-2 video: B pictures are never references.
//    Not VP8, VP9 or AV1: a frame that refreshes no reference slot can still update the probability
//    context or leave the motion vectors that the next frame reads (FFmpeg 5.1's VP9 decoder ignores
//    NONREF anyway). Other codecs are decoded in full.
// 2. Which frames may go (may_drop): a frame at time t can be picked for a target T only when it counts
//    for T (t >= T - 1e-9, the reader's rule) and no frame before it does, or as the last frame (targets
//    past the end get it). So it may be dropped only when
//    a) for T*, the largest target not served yet that t counts for, a packet already sent has a time w
//       with T* <= w < t (within the same 1e-9): that frame, or an earlier one, comes first for T* and for
//       every smaller target, while the larger targets lie after t;
//    b) a packet already sent lies after t: this is not the last frame;
//    c) a frame has come out since the last seek or rewind and t is after it: pictures before the first
//       one out (HEVC RASL pictures after a seek, which the decoder never outputs) are never dropped, so
//       every dropped frame is one a full decode shows, and frame indices can count them.
//    Only packets already sent serve as witnesses. Encoders send a B frame's neighbours in presentation
//    order before it (the reference it sits before, the pyramid's middle B), so in practice every
//    non-reference frame is dropped except those that are the first at or after some target. A fixed
//    window of decoding around each target would not do: at a variable frame rate (a still scene, dropped
//    frames) the first frame at or after a target may lie any distance after it; a witness holds at any
//    spacing, and needs no guess of the reorder depth.
// 3. The argument assumes that each packet gives one frame at its timestamp and that frames come out in
//    time order. What comes out is checked (came_out, drained, failed): every frame carries the pts of a
//    packet sent (and the decoder's best-effort timestamp is that pts), times increase, a packet that gave
//    no frame either was sent droppable (a dropped frame, counted for indices) or was not a witness, no
//    dropped frame lies at or after the target being looked for and before the frame about to be picked,
//    nothing is left at the end, no packet lacks a pts, no decoding error occurred and no frame came out
//    flagged damaged (error concealment may borrow from the previous decoded picture). Anything else is
//    irregular; then, if a packet was sent droppable since the last seek or rewind, the reader decodes
//    the video again in full and passes on only the frames not passed on yet (video_reader.cpp); if not,
//    nothing was dropped that the full decode would show, and it goes on in full from there.
#pragma once

extern "C" {
#include <libavcodec/avcodec.h>
}

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <vector>

namespace xsearch::video_detail {

class SelectiveDecoding {
 public:
  // Whether dropping the non-reference frames of this stream leaves the other frames as they are (1. above).
  static bool codec_allows(const AVCodecParameters& par) {
    switch (par.codec_id) {
      case AV_CODEC_ID_H264:
      case AV_CODEC_ID_MPEG4:
      case AV_CODEC_ID_MPEG1VIDEO:
      case AV_CODEC_ID_MPEG2VIDEO:
        return true;
      case AV_CODEC_ID_HEVC:
        // An hvcC record (ISO/IEC 14496-15: configurationVersion 1, 23 bytes before the NAL arrays) with
        // numTemporalLayers (bits 3 to 5 of byte 21) equal to 1. Annex B extradata or 0 ("unknown"): no.
        return par.extradata && par.extradata_size >= 23 && par.extradata[0] == 1 && ((par.extradata[21] >> 3) & 7) == 1;
      default:
        return false;
    }
  }

  // A pass choosing frames for `targets` (ascending seconds, kept alive by the caller) starts.
  void begin(const std::vector<double>& targets) {
    targets_ = &targets;
    next_ = 0;
    on_ = true;
    irregular_ = false;
    reposition();
  }
  // Every later packet is decoded (the pass ended, or goes on in full).
  void stop() {
    on_ = false;
    irregular_ = false;
    targets_ = nullptr;
  }
  // stop() when it goes out of scope, however the pass ends (an exception included).
  class StopAtExit {
   public:
    explicit StopAtExit(SelectiveDecoding& s) : s_(s) {}
    ~StopAtExit() { s_.stop(); }
    StopAtExit(const StopAtExit&) = delete;
    StopAtExit& operator=(const StopAtExit&) = delete;

   private:
    SelectiveDecoding& s_;
  };
  bool on() const { return on_; }
  // Something came out that the argument above does not cover.
  bool irregular() const { return on_ && irregular_; }
  // Whether a packet was sent droppable since the last seek or rewind (then the decoder may differ from a
  // full decode's since then).
  bool droppable_sent() const { return droppable_sent_; }

  // The smallest target not served yet is targets[k].
  void serving(std::size_t k) {
    if (!on_) return;
    next_ = k;
    // Packets before it can no longer be witnesses (T* >= targets[k]); the latest one stays in latest_.
    if (next_ < targets_->size()) sent_.erase(sent_.begin(), sent_.lower_bound((*targets_)[next_] - 1e-9));
  }

  // After a seek or a rewind: the decoder starts afresh, nothing sent before matters.
  void reposition() {
    pending_.clear();
    sent_.clear();
    witnesses_.clear();
    have_out_ = false;
    have_sent_ = false;
    droppable_sent_ = false;
    dropped_end_ = -std::numeric_limits<double>::infinity();
  }

  // Whether the packet at presentation time t may be sent droppable (2. above).
  bool may_drop(double t) {
    if (!on_ || irregular_ || !have_out_ || !(t > first_out_)) return false;  // c)
    if (!have_sent_ || !(latest_ > t)) return false;                          // b)
    const std::vector<double>& targets = *targets_;
    const auto first = targets.begin() + static_cast<std::ptrdiff_t>(next_);
    // The targets t counts for form a prefix of the ones left (T - 1e-9 grows with T).
    const auto after = std::partition_point(first, targets.end(), [t](double target) { return !(t < target - 1e-9); });
    if (after != first) {  // a)
      const auto w = sent_.lower_bound(*(after - 1) - 1e-9);
      if (w == sent_.end() || !(*w < t)) return false;
      witness(*w);
    }
    witness(latest_);
    return true;
  }

  // A packet at time t went to the decoder; its frame would end at `end` (time plus duration).
  void sent(double t, double end, bool droppable) {
    if (!on_) return;
    pending_.emplace(t, Sent{droppable, end});
    // A frame before the target looked for is no witness for it or a later one (T* >= that target). With
    // no targets (the probe) only the latest packet is ever a witness: none kept, however long the pass.
    if (!targets_->empty() && (next_ >= targets_->size() || !(t < (*targets_)[next_] - 1e-9))) sent_.insert(t);
    latest_ = have_sent_ ? std::max(latest_, t) : t;
    have_sent_ = true;
    droppable_sent_ = droppable_sent_ || droppable;
  }

  // A frame came out (its pts, the decoder's best-effort timestamp, its time, and whether the decoder
  // flagged it damaged or concealed). Returns how many dropped frames lie before it since the previous one
  // out (for frame indices). A damaged frame is irregular: error concealment may borrow from the previous
  // decoded picture (H.264 does), which a dropped frame would have been.
  int64_t came_out(int64_t pts, int64_t best_effort, double t, bool damaged) {
    if (!on_) return 0;
    if (damaged || pts == AV_NOPTS_VALUE || best_effort != pts || (have_out_ && !(t > last_out_))) {
      irregular_ = true;
      return 0;
    }
    int64_t dropped = 0;
    const auto before = pending_.lower_bound(t);
    for (auto it = pending_.begin(); it != before; ++it) {
      if (it->second.droppable) {
        ++dropped;
        dropped_end_ = std::max(dropped_end_, it->second.end);
        // A dropped frame at or after the target looked for, before the frame about to be picked.
        if (next_ < targets_->size() && !(it->first < (*targets_)[next_] - 1e-9)) irregular_ = true;
      } else {
        // Sent in full and gave no frame (a leading picture the decoder skips, damage): not a frame, so
        // no witness; if it served as one, a frame may have been dropped wrongly.
        if (witnesses_.count(it->first)) irregular_ = true;
        const auto s = sent_.find(it->first);
        if (s != sent_.end()) sent_.erase(s);
      }
      witnesses_.erase(it->first);
    }
    pending_.erase(pending_.begin(), before);
    const auto match = pending_.find(t);
    if (match == pending_.end()) {
      irregular_ = true;  // a frame no packet announced
      return dropped;
    }
    pending_.erase(match);
    witnesses_.erase(t);
    if (!have_out_) first_out_ = t;
    have_out_ = true;
    last_out_ = t;
    return dropped;
  }

  // The decoder gave its last frame: a packet still waiting either was dropped after the last frame out
  // (so its later witness never came) or gave no frame; only the latter, unused as a witness, is fine.
  void drained() {
    if (!on_) return;
    for (const auto& [t, s] : pending_)
      if (s.droppable || witnesses_.count(t)) irregular_ = true;
    pending_.clear();
  }

  // The latest end (time plus duration) of the frames dropped so far: where the video's good frames end
  // counts them, as a full decode would.
  double dropped_end() const { return dropped_end_; }

  // A decoding error, or a packet without a pts: what comes out can no longer be vouched for.
  void failed() {
    if (on_) irregular_ = true;
  }

 private:
  // A witness still waiting for its frame is remembered, so that its never coming shows.
  void witness(double t) {
    if (pending_.count(t)) witnesses_.insert(t);
  }

  const std::vector<double>* targets_ = nullptr;
  std::size_t next_ = 0;
  bool on_ = false, irregular_ = false;
  struct Sent {
    bool droppable;
    double end;
  };
  std::multimap<double, Sent> pending_;  // sent, no frame out yet, by time
  std::multiset<double> sent_;           // times of the frames sent since the last reposition (witnesses)
  std::set<double> witnesses_;           // pending times used as witnesses
  double latest_ = 0, first_out_ = 0, last_out_ = 0;
  double dropped_end_ = -std::numeric_limits<double>::infinity();
  bool have_sent_ = false, have_out_ = false, droppable_sent_ = false;
};

}  // namespace xsearch::video_detail
