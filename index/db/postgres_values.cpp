// The libpq value coding of postgres.hpp: parameters bound in binary with their type named, and the
// binary column values decoded (integers, floats, numeric, text, bytea) as SQLite would give them. Apart
// from the connection and the streaming of rows (postgres.cpp): this is pure byte work, one type at a time.
#include "postgres.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "xsearch/error.hpp"

namespace xsearch::db {

namespace {

// Type OIDs of the built-in types (catalog/pg_type_d.h, which libpq-dev does not ship); they never change.
constexpr Oid kBool = 16, kBytea = 17, kName = 19, kInt8 = 20, kInt2 = 21, kInt4 = 23, kText = 25, kOid = 26,
              kFloat4 = 700, kFloat8 = 701, kUnknown = 705, kBpchar = 1042, kVarchar = 1043, kNumeric = 1700;

uint64_t load_be(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

std::string be_bytes(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) out[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xff);
  return out;
}

// Binary numeric: int16 ndigits, int16 weight, uint16 sign, int16 dscale, then ndigits base-10000 digits,
// the first worth 10000^weight (trailing zero digits are not stored). SUM(bigint) and AVG come back as
// numeric. *integer gets the integer part, exact (SQLite truncates a real the same way); false when it does
// not fit (or NaN, infinity).
bool numeric(const char* p, int len, double* real, int64_t* integer) {
  *real = 0, *integer = 0;
  if (len < 8) return false;
  const int ndigits = static_cast<int16_t>(load_be(p, 2)), weight = static_cast<int16_t>(load_be(p + 2, 2));
  const uint64_t sign = load_be(p + 4, 2);
  if (sign > 0x4000) return *real = sign == 0xC000 ? std::nan("") : sign == 0xD000 ? HUGE_VAL : -HUGE_VAL, false;
  bool fits = true;
  for (int i = 0; i <= std::max(weight, ndigits - 1); ++i) {
    const int64_t digit = i < ndigits && 10 + 2 * i <= len ? static_cast<int64_t>(load_be(p + 8 + 2 * i, 2)) * (sign ? -1 : 1) : 0;
    *real += static_cast<double>(digit) * std::pow(10000.0, weight - i);
    if (i <= weight)
      fits = fits && !__builtin_mul_overflow(*integer, int64_t{10000}, integer) && !__builtin_add_overflow(*integer, digit, integer);
  }
  return fits;
}

bool is_texty(Oid t) { return t == kText || t == kVarchar || t == kBpchar || t == kName || t == kUnknown; }

}  // namespace

// All parameters go in binary with their type named, so the server neither parses nor guesses.
PgStatement& PgStatement::set(int index, Oid type, std::string bytes) {
  Param& p = param(index);
  p.type = type, p.null = false, p.bytes = std::move(bytes);
  return *this;
}
PgStatement& PgStatement::bind(int i, int64_t v) { return set(i, kInt8, be_bytes(static_cast<uint64_t>(v))); }
PgStatement& PgStatement::bind(int i, double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return set(i, kFloat8, be_bytes(bits));
}
PgStatement& PgStatement::bind(int i, const std::string& v) { return set(i, kText, v); }
PgStatement& PgStatement::bind_blob(int i, const void* data, std::size_t bytes) { return set(i, kBytea, std::string(static_cast<const char*>(data), bytes)); }
PgStatement& PgStatement::bind_null(int i) {
  param(i) = Param{};
  return *this;
}

PgStatement::Cell PgStatement::cell(int col) const {
  if (!row_ || col < 0 || col >= PQnfields(row_))
    throw Error(c_->path() + ": \"" + PgConnection::excerpt(sql_) + "\": " +
                (row_ ? "no column " + std::to_string(col) : std::string("no current row")));
  // A text-format column (never asked for, but possible) is read as text whatever its type. libpq ends
  // every value with a NUL, binary ones too.
  return {PQgetvalue(row_, 0, col), PQgetlength(row_, 0, col), PQfformat(row_, col) == 0 ? kText : PQftype(row_, col),
          PQgetisnull(row_, 0, col) != 0};
}

int64_t PgStatement::int64(int col) const {
  const Cell c = cell(col);
  const Oid t = c.type;
  if (c.null) return 0;
  if ((t == kInt8 && c.len == 8) || ((t == kInt4 || t == kOid) && c.len == 4) || (t == kInt2 && c.len == 2) || (t == kBool && c.len == 1)) {
    const uint64_t v = load_be(c.p, c.len);
    const int shift = 64 - 8 * c.len;  // sign-extend the signed types
    return t == kOid || t == kBool ? static_cast<int64_t>(v) : static_cast<int64_t>(v << shift) >> shift;
  }
  if (t == kFloat4 || t == kFloat8) return static_cast<int64_t>(real(col));
  if (is_texty(t)) return std::strtoll(c.p, nullptr, 10);
  double d;
  int64_t v;
  if (t == kNumeric && numeric(c.p, c.len, &d, &v)) return v;
  throw Error(c_->path() + ": \"" + PgConnection::excerpt(sql_) + "\": column " + std::to_string(col) + " (type " + std::to_string(t) +
              ") is not a 64-bit integer");
}

double PgStatement::real(int col) const {
  const Cell c = cell(col);
  if (c.null) return 0;
  if (c.type == kFloat8 && c.len == 8) {
    const uint64_t bits = load_be(c.p, 8);
    double d;
    std::memcpy(&d, &bits, sizeof d);
    return d;
  }
  if (c.type == kFloat4 && c.len == 4) {
    const auto bits = static_cast<uint32_t>(load_be(c.p, 4));
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
  }
  int64_t v;
  double d;
  if (c.type == kNumeric) return numeric(c.p, c.len, &d, &v), d;
  if (is_texty(c.type)) return std::strtod(c.p, nullptr);
  return static_cast<double>(int64(col));
}

// Numbers as SQLite would print them; text, varchar and bytea as their bytes.
std::string PgStatement::text(int col) const {
  const Cell c = cell(col);
  const Oid t = c.type;
  if (c.null) return std::string();
  if (t == kInt8 || t == kInt4 || t == kInt2 || t == kOid || t == kBool) return std::to_string(int64(col));
  if (t == kFloat4 || t == kFloat8 || t == kNumeric) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", real(col));
    return buf;
  }
  return std::string(c.p, static_cast<std::size_t>(c.len));
}

bool PgStatement::is_null(int col) const { return cell(col).null; }
const void* PgStatement::blob(int col) const {
  const Cell c = cell(col);
  return c.null ? nullptr : c.p;
}
int PgStatement::blob_bytes(int col) const {
  const Cell c = cell(col);
  return c.null ? 0 : c.len;
}

}  // namespace xsearch::db
