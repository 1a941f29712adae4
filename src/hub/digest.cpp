// File digests with OpenSSL's EVP interface.
#include <openssl/evp.h>

#include <fstream>
#include <memory>

#include "xsearch/error.hpp"
#include "xsearch/hub.hpp"

namespace xsearch {

namespace {

std::string digest(const std::filesystem::path& path, const EVP_MD* md, const std::string& prefix_header) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string() + ": cannot read");
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1) throw Error("digest: OpenSSL failed to start");
  if (!prefix_header.empty()) EVP_DigestUpdate(ctx.get(), prefix_header.data(), prefix_header.size());
  std::string buf(1 << 20, '\0');
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (in.gcount() > 0) EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<std::size_t>(in.gcount()));
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx.get(), out, &n);
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (unsigned i = 0; i < n; ++i) {
    s += hex[out[i] >> 4];
    s += hex[out[i] & 15];
  }
  return s;
}

}  // namespace

std::string file_sha256(const std::filesystem::path& path) { return digest(path, EVP_sha256(), ""); }

std::string file_git_sha1(const std::filesystem::path& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw Error(path.string() + ": cannot read");
  return digest(path, EVP_sha1(), "blob " + std::to_string(size) + std::string(1, '\0'));
}

}  // namespace xsearch
