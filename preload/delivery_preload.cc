// delivery_preload.cc: marks libheapwarden_preload.so (see delivery.h). Preload side.
#include "preload/delivery.h"

namespace heapwarden::internal {

const Delivery kDelivery = Delivery::kPreload;

}  // namespace heapwarden::internal
