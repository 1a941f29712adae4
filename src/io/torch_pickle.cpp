// A pickle interpreter that only builds data. Python's own unpickler calls whatever GLOBAL + REDUCE name,
// which is how a pickle runs code; here REDUCE can call only the three functions a state dict is made of
// (collections.OrderedDict, torch._utils._rebuild_tensor_v2 and _rebuild_parameter), and each of them is
// reimplemented as "record what the arguments say". Any other global stops the reading at the GLOBAL opcode.
// Every read is bounds-checked, nothing recurses, and all objects live in one arena (a list that contains
// itself is just two indices), so the work and memory are linear in the pickle's size.
#include "io/torch_pickle.hpp"

#include <cstring>
#include <map>
#include <unordered_map>

#include "io/printable.hpp"
#include "xsearch/error.hpp"

namespace xsearch::torch_bin {

namespace {

enum class Kind { None, Bool, Int, Float, Str, Tuple, List, Dict, Global, Storage, Tensor };

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::None: return "None";
    case Kind::Bool: return "a bool";
    case Kind::Int: return "an int";
    case Kind::Float: return "a float";
    case Kind::Str: return "a str";
    case Kind::Tuple: return "a tuple";
    case Kind::List: return "a list";
    case Kind::Dict: return "a dict";
    case Kind::Global: return "a class or function";
    case Kind::Storage: return "a storage";
    case Kind::Tensor: return "a tensor";
  }
  return "?";
}

// The only globals a state dict needs.
enum class Callable { OrderedDict, RebuildTensorV2, RebuildParameter, StorageType };

// torch.save names a tensor's storage by its legacy typed class, e.g. ('storage', torch.FloatStorage, ...).
struct StorageTypeName {
  const char* name;
  DType dtype;
};
const StorageTypeName kStorageTypes[] = {
    {"FloatStorage", DType::F32}, {"HalfStorage", DType::F16},  {"BFloat16Storage", DType::BF16},
    {"DoubleStorage", DType::F64}, {"LongStorage", DType::I64}, {"IntStorage", DType::I32},
    {"ShortStorage", DType::I16}, {"CharStorage", DType::I8},  {"ByteStorage", DType::U8},
    {"BoolStorage", DType::BOOL}};

// A tensor of more dimensions than this is not a weight.
constexpr std::size_t kMaxDims = 64;
// Storage keys are decimal numbers in every torch version; this is all we accept in a zip entry name.
constexpr std::size_t kMaxKeyLength = 64;

struct Obj {
  Kind kind = Kind::None;
  int64_t i = 0;                   // Bool, Int; Storage: its element count
  double f = 0;                    // Float
  std::string s;                   // Str; Global: "module.name"; Storage: its key
  std::vector<std::size_t> items;  // Tuple, List; Dict: key, value, key, value, ...
  std::map<std::string, std::size_t> str_keys;  // Dict: position in `items` of each str key's value
  Callable callable = Callable::OrderedDict;    // Global
  DType dtype = DType::F32;                     // Global (storage type), Storage
  std::size_t storage = 0;                      // Tensor: the Storage object
  int64_t offset = 0;                           // Tensor
  std::vector<int64_t> shape, stride;           // Tensor
};

class Machine {
 public:
  Machine(const uint8_t* data, std::size_t size, const std::string& where)
      : begin_(data), p_(data), end_(data + size), where_(where) {}

  std::vector<TensorRef> run() {
    for (;;) {
      op_at_ = static_cast<std::size_t>(p_ - begin_);
      const uint8_t op = u8();
      if (op == '.') break;  // STOP
      step(op);
    }
    if (stack_.size() != 1 || !marks_.empty()) fail("the pickle ends with " + std::to_string(stack_.size()) + " values on its stack, not one");
    return state_dict(stack_.back());
  }

 private:
  [[noreturn]] void fail(const std::string& cause) const {
    throw Error(where_ + ": " + cause + " (pickle byte " + std::to_string(op_at_) + ")");
  }

  // ---- reading the byte stream ----
  const uint8_t* take(std::size_t n) {
    if (static_cast<std::size_t>(end_ - p_) < n) fail("the pickle is truncated (it ends inside an opcode)");
    const uint8_t* at = p_;
    p_ += n;
    return at;
  }
  uint8_t u8() { return *take(1); }
  uint64_t le(std::size_t n) {
    const uint8_t* b = take(n);
    uint64_t v = 0;
    for (std::size_t k = n; k-- > 0;) v = (v << 8) | b[k];
    return v;
  }
  std::string bytes(std::size_t n) {
    const uint8_t* b = take(n);
    return std::string(reinterpret_cast<const char*>(b), n);
  }
  std::string line() {
    const uint8_t* nl = static_cast<const uint8_t*>(std::memchr(p_, '\n', static_cast<std::size_t>(end_ - p_)));
    if (!nl) fail("the pickle is truncated (a GLOBAL name has no end)");
    std::string s(reinterpret_cast<const char*>(p_), static_cast<std::size_t>(nl - p_));
    p_ = nl + 1;
    return s;
  }

  // ---- objects and the stack ----
  std::size_t make(Obj o) {
    arena_.push_back(std::move(o));
    return arena_.size() - 1;
  }
  std::size_t make(Kind k) {
    Obj o;
    o.kind = k;
    return make(std::move(o));
  }
  std::size_t make_int(Kind k, int64_t v) {
    Obj o;
    o.kind = k;
    o.i = v;
    return make(std::move(o));
  }
  void push(std::size_t i) { stack_.push_back(i); }
  std::size_t pop() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) fail("the pickle pops from an empty stack");
    const std::size_t i = stack_.back();
    stack_.pop_back();
    return i;
  }
  std::size_t top() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) fail("the pickle reads an empty stack");
    return stack_.back();
  }
  std::vector<std::size_t> pop_mark() {
    if (marks_.empty()) fail("the pickle closes a MARK it never opened");
    const std::size_t k = marks_.back();
    marks_.pop_back();
    std::vector<std::size_t> items(stack_.begin() + static_cast<std::ptrdiff_t>(k), stack_.end());
    stack_.resize(k);
    return items;
  }
  std::size_t tuple(std::vector<std::size_t> items) {
    Obj o;
    o.kind = Kind::Tuple;
    o.items = std::move(items);
    return make(std::move(o));
  }
  Obj& expect(std::size_t i, Kind k, const char* what) {
    if (arena_[i].kind != k) fail(std::string(what) + " is " + kind_name(arena_[i].kind) + ", expected " + kind_name(k));
    return arena_[i];
  }
  void set_item(std::size_t dict, std::size_t key, std::size_t value) {
    Obj& d = expect(dict, Kind::Dict, "the target of SETITEM(S)");
    const Obj& k = arena_[key];
    if (k.kind == Kind::Str) {
      auto [it, fresh] = d.str_keys.emplace(k.s, d.items.size() + 1);
      if (!fresh) {  // Python keeps the last value of a repeated key
        d.items[it->second] = value;
        return;
      }
    } else if (k.kind != Kind::Int) {
      fail(std::string("a dict key is ") + kind_name(k.kind) + " (only str and int keys are read)");
    }
    d.items.push_back(key);
    d.items.push_back(value);
  }
  void memo_put(uint64_t index) { memo_[index] = top(); }
  void memo_get(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) fail("the pickle refers to memo entry " + std::to_string(index) + ", which it never stored");
    push(it->second);
  }

  // ---- the allowed globals ----
  std::size_t global(const std::string& module, const std::string& name) {
    Obj o;
    o.kind = Kind::Global;
    o.s = module + "." + name;
    if (module == "collections" && name == "OrderedDict") {
      o.callable = Callable::OrderedDict;
    } else if (module == "torch._utils" && name == "_rebuild_tensor_v2") {
      o.callable = Callable::RebuildTensorV2;
    } else if (module == "torch._utils" && name == "_rebuild_parameter") {
      o.callable = Callable::RebuildParameter;
    } else {
      bool storage = false;
      if (module == "torch")
        for (const auto& t : kStorageTypes)
          if (name == t.name) {
            o.callable = Callable::StorageType;
            o.dtype = t.dtype;
            storage = true;
          }
      if (!storage)
        fail("refused: the pickle names the global " + printable(o.s) +
             ", which a state dict of tensors never needs (xsearch reads only tensors and plain containers, and "
             "runs nothing from a checkpoint)");
    }
    return make(std::move(o));
  }

  int64_t int_arg(std::size_t i, const char* what) { return expect(i, Kind::Int, what).i; }

  std::vector<int64_t> int_tuple(std::size_t i, const char* what) {
    const Obj& t = expect(i, Kind::Tuple, what);
    if (t.items.size() > kMaxDims) fail(std::string(what) + " has " + std::to_string(t.items.size()) + " dimensions");
    std::vector<int64_t> v;
    for (std::size_t x : t.items) {
      const int64_t d = int_arg(x, what);
      if (d < 0) fail(std::string(what) + " has a negative entry");
      v.push_back(d);
    }
    return v;
  }

  // ('storage', torch.XStorage, key, location, numel) -> a Storage.
  std::size_t persistent_load(std::size_t pid) {
    const Obj& t = expect(pid, Kind::Tuple, "a persistent id");
    if (t.items.size() != 5 || arena_[t.items[0]].kind != Kind::Str || arena_[t.items[0]].s != "storage")
      fail("a persistent id is not ('storage', type, key, location, size)");
    const Obj& type = expect(t.items[1], Kind::Global, "a storage's type");
    if (type.callable != Callable::StorageType) fail("a storage's type is " + printable(type.s) + ", not a torch storage class");
    const std::string key = expect(t.items[2], Kind::Str, "a storage's key").s;
    expect(t.items[3], Kind::Str, "a storage's location");
    const int64_t numel = int_arg(t.items[4], "a storage's size");
    if (numel < 0) fail("storage " + printable(key) + " has a negative size");
    if (key.empty() || key.size() > kMaxKeyLength ||
        key.find_first_not_of("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_") != std::string::npos)
      fail("storage key \"" + printable(key) + "\" is not a plain name");
    auto it = storages_.find(key);
    if (it != storages_.end()) {
      const Obj& seen = arena_[it->second];
      if (seen.dtype != type.dtype || seen.i != numel)
        fail("storage " + key + " is described twice with different types or sizes");
      return it->second;
    }
    Obj s;
    s.kind = Kind::Storage;
    s.s = key;
    s.dtype = type.dtype;
    s.i = numel;
    const std::size_t index = make(std::move(s));
    storages_[key] = index;
    return index;
  }

  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]).
  std::size_t rebuild_tensor(const std::vector<std::size_t>& args) {
    if (args.size() != 6 && args.size() != 7) fail("_rebuild_tensor_v2 takes 6 or 7 arguments, the pickle gives " + std::to_string(args.size()));
    Obj t;
    t.kind = Kind::Tensor;
    t.storage = args[0];
    const Obj& storage = expect(args[0], Kind::Storage, "a tensor's storage");
    t.offset = int_arg(args[1], "a tensor's storage offset");
    if (t.offset < 0) fail("a tensor has a negative storage offset");
    t.shape = int_tuple(args[2], "a tensor's size");
    t.stride = int_tuple(args[3], "a tensor's stride");
    if (t.shape.size() != t.stride.size()) fail("a tensor's size and stride differ in length");
    expect(args[5], Kind::Dict, "a tensor's backward hooks");
    if (!arena_[args[5]].items.empty()) fail("a tensor carries backward hooks");
    // The view must lie inside its storage: offset + sum((size_i - 1) * stride_i) < numel, in checked
    // arithmetic, and it may not have more elements than the storage (a broadcast view is not a weight).
    int64_t numel = 1, last = t.offset;
    bool empty = false;
    for (std::size_t d = 0; d < t.shape.size(); ++d) {
      if (t.shape[d] == 0) empty = true;
      int64_t reach = 0;
      if (__builtin_mul_overflow(t.shape[d], numel, &numel) ||
          (t.shape[d] > 0 && (__builtin_mul_overflow(t.shape[d] - 1, t.stride[d], &reach) || __builtin_add_overflow(last, reach, &last))))
        fail("a tensor's size or stride overflows");
    }
    if (!empty && (last >= storage.i || numel > storage.i))
      fail("a tensor of size " + shape_to_string(t.shape) + ", stride " + shape_to_string(t.stride) + " at offset " +
           std::to_string(t.offset) + " does not fit its storage " + storage.s + " of " + std::to_string(storage.i) + " elements");
    return make(std::move(t));
  }

  std::size_t call(std::size_t callable, std::size_t args_index) {
    const Obj& f = expect(callable, Kind::Global, "the callable of REDUCE");
    const std::vector<std::size_t> args = expect(args_index, Kind::Tuple, "the arguments of REDUCE").items;
    switch (f.callable) {
      case Callable::OrderedDict:
        if (!args.empty()) fail("collections.OrderedDict is called with arguments");
        return make(Kind::Dict);
      case Callable::RebuildTensorV2:
        return rebuild_tensor(args);
      case Callable::RebuildParameter:  // (data, requires_grad, backward_hooks): the tensor itself
        if (args.size() != 3) fail("_rebuild_parameter takes 3 arguments");
        expect(args[0], Kind::Tensor, "a parameter's data");
        return args[0];
      case Callable::StorageType:
        break;
    }
    fail("the pickle calls " + printable(f.s) + ", which only names a storage type");
  }

  void step(uint8_t op) {
    switch (op) {
      case 0x80: if (u8() > 5) fail("pickle protocol above 5"); break;  // PROTO
      case 0x95: le(8); break;                                           // FRAME (a length hint)
      case '(': marks_.push_back(stack_.size()); break;                  // MARK
      case '}': push(make(Kind::Dict)); break;                           // EMPTY_DICT
      case ']': push(make(Kind::List)); break;                           // EMPTY_LIST
      case ')': push(tuple({})); break;                                  // EMPTY_TUPLE
      case 't': push(tuple(pop_mark())); break;                          // TUPLE
      case 0x85: case 0x86: case 0x87: {                                 // TUPLE1..3
        std::vector<std::size_t> items(static_cast<std::size_t>(op - 0x84));
        for (std::size_t k = items.size(); k-- > 0;) items[k] = pop();
        push(tuple(std::move(items)));
        break;
      }
      case 'l': {  // LIST
        Obj o;
        o.kind = Kind::List;
        o.items = pop_mark();
        push(make(std::move(o)));
        break;
      }
      case 'd': {  // DICT
        const std::vector<std::size_t> items = pop_mark();
        if (items.size() % 2) fail("DICT with an odd number of items");
        const std::size_t d = make(Kind::Dict);
        for (std::size_t k = 0; k < items.size(); k += 2) set_item(d, items[k], items[k + 1]);
        push(d);
        break;
      }
      case 'a': {  // APPEND
        const std::size_t v = pop();
        expect(top(), Kind::List, "the target of APPEND").items.push_back(v);
        break;
      }
      case 'e': {  // APPENDS
        const std::vector<std::size_t> items = pop_mark();
        Obj& list = expect(top(), Kind::List, "the target of APPENDS");
        list.items.insert(list.items.end(), items.begin(), items.end());
        break;
      }
      case 's': {  // SETITEM
        const std::size_t v = pop(), k = pop();
        set_item(top(), k, v);
        break;
      }
      case 'u': {  // SETITEMS
        const std::vector<std::size_t> items = pop_mark();
        if (items.size() % 2) fail("SETITEMS with an odd number of items");
        const std::size_t d = top();
        for (std::size_t k = 0; k < items.size(); k += 2) set_item(d, items[k], items[k + 1]);
        break;
      }
      case 'J': push(make_int(Kind::Int, static_cast<int32_t>(le(4)))); break;  // BININT
      case 'K': push(make_int(Kind::Int, u8())); break;                         // BININT1
      case 'M': push(make_int(Kind::Int, static_cast<int64_t>(le(2)))); break;  // BININT2
      case 0x8a: {                                                              // LONG1
        const std::size_t n = u8();
        if (n > 8) fail("an integer of " + std::to_string(n) + " bytes");
        uint64_t v = le(n);
        if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t{0} << (8 * n);  // sign-extend
        push(make_int(Kind::Int, static_cast<int64_t>(v)));
        break;
      }
      case 'G': {  // BINFLOAT, big-endian
        const uint8_t* b = take(8);
        uint64_t bits = 0;
        for (int k = 0; k < 8; ++k) bits = (bits << 8) | b[k];
        Obj o;
        o.kind = Kind::Float;
        std::memcpy(&o.f, &bits, sizeof o.f);
        push(make(std::move(o)));
        break;
      }
      case 'N': push(make(Kind::None)); break;
      case 0x88: push(make_int(Kind::Bool, 1)); break;  // NEWTRUE
      case 0x89: push(make_int(Kind::Bool, 0)); break;  // NEWFALSE
      case 'X': case 0x8c: {                            // BINUNICODE, SHORT_BINUNICODE
        Obj o;
        o.kind = Kind::Str;
        o.s = bytes(static_cast<std::size_t>(op == 'X' ? le(4) : u8()));
        push(make(std::move(o)));
        break;
      }
      case 'c': {  // GLOBAL module\nname\n
        const std::string module = line();
        push(global(module, line()));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        const std::string name = expect(pop(), Kind::Str, "the name of STACK_GLOBAL").s;
        const std::string module = expect(pop(), Kind::Str, "the module of STACK_GLOBAL").s;
        push(global(module, name));
        break;
      }
      case 'q': memo_put(u8()); break;             // BINPUT
      case 'r': memo_put(le(4)); break;            // LONG_BINPUT
      case 0x94: memo_put(memo_.size()); break;    // MEMOIZE
      case 'h': memo_get(u8()); break;             // BINGET
      case 'j': memo_get(le(4)); break;            // LONG_BINGET
      case 'Q': push(persistent_load(pop())); break;  // BINPERSID
      case 'R': {                                     // REDUCE
        const std::size_t args = pop();
        push(call(pop(), args));
        break;
      }
      case 'b': {  // BUILD: an OrderedDict's attributes (the state dict's `_metadata`), plain data we skip
        pop();
        expect(top(), Kind::Dict, "the target of BUILD");
        break;
      }
      default: {
        char buf[8];
        std::snprintf(buf, sizeof buf, "0x%02x", op);
        fail(std::string("pickle opcode ") + buf + " is not one torch.save writes for a state dict");
      }
    }
  }

  std::vector<TensorRef> state_dict(std::size_t root) {
    const Obj& d = arena_[root];
    if (d.kind != Kind::Dict) fail(std::string("the checkpoint is ") + kind_name(d.kind) + ", not a state dict (a dict of tensors)");
    std::vector<TensorRef> out;
    for (std::size_t k = 0; k < d.items.size(); k += 2) {
      const Obj& key = arena_[d.items[k]];
      if (key.kind != Kind::Str) fail("a state dict key is not a str");
      const Obj& value = arena_[d.items[k + 1]];
      if (value.kind != Kind::Tensor)
        fail("entry \"" + printable(key.s) + "\" is " + kind_name(value.kind) +
             ", not a tensor (only a flat state dict of tensors is read, not a training checkpoint)");
      const Obj& storage = arena_[value.storage];
      TensorRef t;
      t.name = key.s;
      t.storage_key = storage.s;
      t.dtype = storage.dtype;
      t.storage_numel = storage.i;
      t.offset = value.offset;
      t.shape = value.shape;
      t.stride = value.stride;
      out.push_back(std::move(t));
    }
    return out;
  }

  const uint8_t* begin_;
  const uint8_t* p_;
  const uint8_t* end_;
  std::string where_;
  std::size_t op_at_ = 0;
  std::vector<Obj> arena_;
  std::vector<std::size_t> stack_;
  std::vector<std::size_t> marks_;  // stack sizes at each open MARK
  std::unordered_map<uint64_t, std::size_t> memo_;
  std::map<std::string, std::size_t> storages_;
};

}  // namespace

std::vector<TensorRef> read_state_dict_pickle(const uint8_t* data, std::size_t size, const std::string& where) {
  return Machine(data, size, where).run();
}

}  // namespace xsearch::torch_bin
