// Lists of exported clips for editors: CSV (one row per clip) and a CMX3600 EDL (one event per clip, in
// rank order on a timeline starting at 01:00:00:00); and the same lists of a query's hits on their
// source files, without cut files. Plain text, no FFmpeg.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace xsearch::media {

struct ExportedFile {
  int rank = 0;
  double score = 0;
  std::string source;        // the original video
  double start = 0, end = 0; // the hit's segment in the source, seconds
  std::string file;          // the cut file (empty when the cut failed)
  double file_start = 0;     // source time of the cut file's first frame (copy: the keyframe before `start`)
  double file_end = 0;       // source time where the cut file ends
  double fps = 0;            // the source's frame rate
  bool audio = false;        // the cut file has sound
  std::string mode;          // "copy" or "exact"
  std::string error;         // why the cut failed
};

// "rank,score,source,start,end,clip,clip_start,clip_end,mode" with RFC 4180 quoting; failed cuts are left out.
std::string clips_csv(const std::vector<ExportedFile>& files);

// A CMX3600 EDL titled `title`: each event plays the part of its clip file that is the hit's segment
// (source in = start - file_start), with `* FROM CLIP NAME:` and `* SOURCE FILE:` comments. Timecodes
// count frames at the first clip's rate rounded to a whole number (non-drop frame); failed cuts are left out.
std::string clips_edl(const std::string& title, const std::vector<ExportedFile>& files);

// The clip files a clips.csv lists (its `clip` column), as written: what an export into the same folder
// replaces. Rows it cannot read are skipped.
std::vector<std::string> listed_clip_files(const std::string& csv);

// A query's hits without cut files (`export --query --csv`): "rank,score,source,start,end,peak,peak_score"
// (seconds), RFC 4180 quoting.
struct ListedHit {
  int rank = 0;
  double score = 0;
  std::string source;
  double start = 0, end = 0, peak = 0, peak_score = 0;
  double fps = 0;  // the source's frame rate, for the EDL (0: unknown, 25 is used)
};
std::string hits_csv(const std::vector<ListedHit>& hits);

// A CMX3600 EDL of the hits on their source files (`export --query --edl`): each event plays the
// segment of its source (source in = start), the files as they are.
std::string hits_edl(const std::string& title, const std::vector<ListedHit>& hits);

// HH:MM:SS:FF of `seconds` at `fps` frames per second (rounded to the nearest frame, timecode base round(fps)).
std::string timecode(double seconds, double fps);

}  // namespace xsearch::media
