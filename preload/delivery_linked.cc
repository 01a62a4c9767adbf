// delivery_linked.cc: marks libheapwarden.so and libheapwarden.a (see delivery.h).
// Preload side.
#include "preload/delivery.h"

namespace heapwarden::internal {

const Delivery kDelivery = Delivery::kLinked;

}  // namespace heapwarden::internal
