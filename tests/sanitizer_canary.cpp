// Built only in sanitizer builds: a heap overflow on purpose. scripts/sanitize.sh runs it first and fails
// unless its report reaches the report folder, so a sanitizer run that would catch nothing (flags lost,
// reports going elsewhere) cannot pass.
#include <cstdlib>

int main(int argc, char**) {
  // Through a volatile pointer, so that the optimiser keeps the faulty store.
  volatile char* p = static_cast<char*>(std::malloc(16));
  p[15 + argc] = 1;  // one byte past the end (argc is 1)
  const int first = p[0];
  std::free(const_cast<char*>(p));
  return first;
}
