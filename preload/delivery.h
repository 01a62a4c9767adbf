// delivery.h: how this copy of the interposed functions reached the process, which
// decides whether tracking starts without being asked (lifecycle.cc).
// Preload side. The preload and libheapwarden are built from the same objects and
// differ in this one constant only (docs/cpp.md, "Two ways of linking").
#ifndef HEAPWARDEN_PRELOAD_DELIVERY_H_
#define HEAPWARDEN_PRELOAD_DELIVERY_H_

namespace heapwarden::internal {

enum class Delivery {
  // libheapwarden_preload.so, LD_PRELOAD'ed: tracks from the start.
  kPreload,
  // libheapwarden.so / libheapwarden.a, linked into the application: the hooks pass
  // straight through until HEAPWARDEN_OPTIONS is set at start or heapwarden_start()
  // is called.
  kLinked,
};

// Defined once per library: delivery_preload.cc or delivery_linked.cc.
extern const Delivery kDelivery __attribute__((visibility("hidden")));

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_PRELOAD_DELIVERY_H_
