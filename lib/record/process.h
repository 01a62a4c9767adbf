// process.h: the recorder's life in the process -- start, fork, the final report. The
// one place that knows every layer (docs/design.md, "The map"): it wires the upper
// layers' work into the lower layers' hooks, so that no lower layer calls up.
// Calling context: start-up and exit (with the recursion guard held), and the
// pthread_atfork handlers; never inside malloc.
#ifndef HEAPWARDEN_LIB_RECORD_PROCESS_H_
#define HEAPWARDEN_LIB_RECORD_PROCESS_H_

namespace heapwarden::internal {

// StartRecording()
//
// Initialises the process's recorder from `options_text` (HEAPWARDEN_OPTIONS), wires
// the snapshot writer, the service figures and the fork child's restart into the
// layers below, registers the periodic tasks and starts the service thread. Call
// once, with a RecursionGuard held; false leaves tracking off.
bool StartRecording(const char* options_text);

// The pthread_atfork handlers: the prepare handler takes every record-side lock, so
// the child inherits consistent tables; the parent releases them; the child resets
// them, and its service state (the parent's thread did not survive the fork).
void PrepareForkRecording();
void AfterForkRecordingParent();
void AfterForkRecordingChild();

}  // namespace heapwarden::internal

#endif  // HEAPWARDEN_LIB_RECORD_PROCESS_H_
