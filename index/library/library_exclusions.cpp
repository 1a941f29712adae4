// The exclusions a library remembers per root (schema 5, both backends): `ingest ROOT --exclude GLOB`
// stores them, `xsearch exclude` lists, adds and drops them, and every walk under the root skips what they
// match (src/pipeline/ingest/exclusions.cpp).
#include "library_impl.hpp"

namespace xsearch {

std::vector<Exclusion> Library::exclusions() const {
  std::vector<Exclusion> out;
  if (impl_->schema < kFirstSchemaWithExclusions) return out;  // read-only open of an older library
  auto s = impl_->conn->prepare("SELECT root, pattern FROM exclusions ORDER BY root, pattern");
  while (s.step()) out.push_back({s.text(0), s.text(1)});
  return out;
}

bool Library::add_exclusion(const Exclusion& e) {
  if (!impl_->writable) throw Error(impl_->path.string() + ": opened read-only, cannot add an exclusion");
  if (e.root.empty() || e.pattern.empty()) throw Error("an exclusion needs a root and a pattern");
  db::Transaction t(*impl_->conn);
  // ON CONFLICT DO NOTHING: SQLite (3.24+) and PostgreSQL alike, so that two writers adding the same pattern
  // on a shared library do not fail on the key.
  impl_->conn->prepare("INSERT INTO exclusions (root, pattern, added_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
      .bind(1, e.root)
      .bind(2, e.pattern)
      .bind(3, now_seconds())
      .run();
  const bool added = impl_->conn->changes() > 0;
  t.commit();
  return added;
}

bool Library::remove_exclusion(const Exclusion& e) {
  if (!impl_->writable) throw Error(impl_->path.string() + ": opened read-only, cannot remove an exclusion");
  db::Transaction t(*impl_->conn);
  impl_->conn->prepare("DELETE FROM exclusions WHERE root = ? AND pattern = ?").bind(1, e.root).bind(2, e.pattern).run();
  const bool removed = impl_->conn->changes() > 0;
  t.commit();
  return removed;
}

}  // namespace xsearch
