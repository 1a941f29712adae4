// The text steps of CLIPTokenizerFast before BPE: NFC, white-space runs collapsed to one space,
// per-character lower-casing (Rust's char::to_lowercase), and the CLIP split pattern
// 's|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+ (white space dropped). Character classes and
// normalisation come from utf8proc.
#pragma once

#include <string>
#include <vector>

namespace xsearch::text {

std::u32string normalize_clip(const std::u32string& text);
// Words of an already normalised text, in order.
std::vector<std::u32string> split_clip_words(const std::u32string& normalized);
// Unicode's White_Space property (what \s matches in the reference's regex engine).
bool is_white_space(char32_t c);

}  // namespace xsearch::text
