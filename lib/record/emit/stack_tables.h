// stack_tables.h: the report's "modules", "frames" and "stacks" (version 2): each
// distinct frame is written once and a stack is a list of frame ids, so the report
// grows with the number of distinct frames, not with stacks times their depth. A
// Python program's stacks share most of their frames (the interpreter's, the script's
// outer lines): version 1, every frame inline, made a 2-second numpy run a 69 MB file
// that the service thread rewrote at every periodic snapshot.
// Calling context: report time, with the report lock held (report_writer.h); never
// inside malloc. Scratch space comes from mmap and is returned before the call ends.
#ifndef HEAPWARDEN_LIB_RECORD_EMIT_STACK_TABLES_H_
#define HEAPWARDEN_LIB_RECORD_EMIT_STACK_TABLES_H_

#include <cstdint>

namespace heapwarden::internal {

class JsonBuffer;
class Recorder;

// WriteStackTablesJson()
//
// Writes the members "modules", "frames" and "stacks" of the stacks whose id is below
// `stack_count` and, when `wanted` is non-null, whose bit is set in it (bit id % 8 of
// byte id / 8); stack 0 (the overflow site's empty stack) only when `include_zero`.
// Native frames are raw: {"id", "kind": "native", "module", "address", "offset"} (no
// "module" when the address is in no known object); Python frames are named at record
// time: {"id", "kind": "python", "function", "file", "line"}. Frame ids are in order of
// first use. Returns false when scratch memory could not be mapped: the text is then
// incomplete and must not be written out.
bool WriteStackTablesJson(JsonBuffer& j, Recorder& r, uint32_t stack_count, bool include_zero,
                          const uint8_t* wanted);

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_EMIT_STACK_TABLES_H_
