// report_text.h: the short human summary of a report -- totals, the largest leak or
// live groups with symbolized stacks in LeakSanitizer's layout, and one SUMMARY line.
// It is what `heapwarden run` prints to stderr and `heapwarden report` to stdout.
// Report side.
#ifndef HEAPWARDEN_LIB_REPORT_REPORT_TEXT_H_
#define HEAPWARDEN_LIB_REPORT_REPORT_TEXT_H_

#include <ostream>
#include <string>

#include "nlohmann/json.hpp"
#include "report/render_options.h"

namespace heapwarden::report {

// top: groups (leaks, or live sites of a snapshot) shown with their stacks and rows of
// each "where memory went" table; by: that table's roll-up (render_options.h).
using TextOptions = RenderOptions;

// RenderText()
//
// Writes the summary of `report` (symbolized or not: unsymbolized frames print as
// "(module+0xoffset)") to `out`:
//
//   heapwarden: pid 4242 ./parser input.txt: exited with status 0
//     allocations  1204, frees 1200; 5.2 MiB (5452595 bytes) allocated
//     live at exit 1337 bytes in 4 block(s)
//     peak live    4.0 MiB (4194304 bytes) at 1.25 s
//     RSS          12.0 MiB at exit, peak 20.0 MiB; allocator retains 1.0 MiB
//
//   ERROR: heapwarden: detected memory leaks
//
//   Direct leak of 1337 byte(s) in 1 object(s) allocated from:
//       #0 0x55d0c0a1b2c3 in leak_parser src/parser.c:12
//       #1 0x55d0c0a1b400 in main (/usr/bin/parser+0x1400)
//
//   Still reachable at exit (not leaks): 64 bytes in 1 object(s) from 1 site(s)
//
//   -----------------------------------------------------
//   Suppressions used:
//     count      bytes template
//         3       1008 _dl_allocate_tls
//   -----------------------------------------------------
//
//   SUMMARY: heapwarden: 1337 byte(s) leaked in 1 allocation(s).
//
// Memory errors ("errors") come first, with their stacks. Leak groups come from
// "leaks" (suppressed ones only counted in the table, reachable ones only summed),
// ordered direct, indirect, unclassified, then by bytes; then where memory went
// (memory_text.h: the peak and live memory by site and function, tags); then the
// largest long-lived groups. The SUMMARY of a final report counts unsuppressed direct, indirect and
// unclassified leaks; a snapshot (no "leaks") shows its live sites instead and sums
// what is live. `report` is version 2 (LoadReport() or ParseReport()). Never throws on
// a report that passed ValidateReport().
void RenderText(const nlohmann::json& report, const TextOptions& options, std::ostream& out);

// FrameLine()
//
// One frame in LeakSanitizer's form, "    #3 0x55d0c0a1b2c3 in leak_parser src/parser.c:12",
// or "    #3 0x7f0000001000 (/lib/libc.so.6+0x1000)" for a frame without a name
// (`module` is the frame's module path, ReportIndex::ModulePath()). A python frame has
// no address: "    #3 load train.py:12".
std::string FrameLine(int index, const nlohmann::json& frame, const std::string& module);

}  // namespace heapwarden::report

#endif  // HEAPWARDEN_LIB_REPORT_REPORT_TEXT_H_
