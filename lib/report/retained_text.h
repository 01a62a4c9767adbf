// retained_text.h: the part of the human summary about memory that is resident but
// not in live blocks: how the allocator's free memory, the program's own mappings
// (CPython's pymalloc arenas among them) and the rest make up "retained", what the
// trims released, and what to try next.
// Report side.
#ifndef HEAPWARDEN_LIB_REPORT_RETAINED_TEXT_H_
#define HEAPWARDEN_LIB_REPORT_RETAINED_TEXT_H_

#include <cstdint>
#include <ostream>

#include "nlohmann/json.hpp"

namespace heapwarden::report {

// PymallocArenas()
//
// The report's mapped sites that are CPython's pymalloc arenas: a frame in
// _PyObject_ArenaMmap / new_arena / _PyObject_Malloc (symbolized reports), or, for a
// Python built without symbols, an innermost frame in the python3.X executable or
// libpython3.X. `live_bytes`: theirs now; `peak_bytes`: the most they held, at most
// (the sum of their peaks, capped by the report's peak of all mapped memory). A final
// report comes after the interpreter freed its objects: the peak is what tells.
struct PymallocArenas {
  int64_t live_bytes = 0;
  int64_t peak_bytes = 0;
};
PymallocArenas FindPymallocArenas(const nlohmann::json& report);

// RenderRetained()
//
// Writes nothing when the report has nothing to say; otherwise lines such as
//
//     retained     330.0 MiB not in live blocks: up to 312.5 MiB free in the allocator
//                  (what a trim can return), other 17.5 MiB; program's own mappings
//                  550.0 MiB more
//     pymalloc     548.0 MiB in CPython's pymalloc arenas (at most 900.0 MiB): no trim
//                  returns an arena that still holds a live object. Run with
//                  --python-malloc (PYTHONMALLOC=malloc) to make every object visible
//                  and trimmable.
//     trims        2, released 254.0 MiB (api 1, auto 1)
//
// Never throws on a report that passed ValidateReport(); missing fields read as 0.
void RenderRetained(const nlohmann::json& report, std::ostream& out);

}  // namespace heapwarden::report

#endif  // HEAPWARDEN_LIB_REPORT_RETAINED_TEXT_H_
