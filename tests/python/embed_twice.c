// embed_twice.c: Python embedded in a C program, initialized and finalized twice, with
// a C thread (no Python state) allocating in between. Each Python round allocates a
// block of a distinctive size on a known line of an inline script; the C thread's
// block must have native frames only.
#include <Python.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static void* c_thread(void* arg) {
  (void)arg;
  void* volatile block = malloc(2000003);  // kept: a leak with native frames only
  (void)block;
  return NULL;
}

static int round_of_python(int round) {
  Py_Initialize();
  char script[256];
  snprintf(script, sizeof script,
           "keep = []\n"
           "def embedded_round():\n"
           "    keep.append(bytearray(%d))\n"  // line 3 of <embedded>
           "embedded_round()\n",
           1000000 + round);
  PyObject* code = Py_CompileString(script, "<embedded>", Py_file_input);
  if (code == NULL) return 1;
  PyObject* globals = PyDict_New();
  PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins());
  PyObject* result = PyEval_EvalCode(code, globals, globals);
  Py_XDECREF(result);
  Py_DECREF(globals);
  Py_DECREF(code);
  if (result == NULL) return 1;
  return Py_FinalizeEx() == 0 ? 0 : 1;
}

int main(void) {
  if (round_of_python(1) != 0) return 1;
  pthread_t t;
  pthread_create(&t, NULL, c_thread, NULL);
  pthread_join(t, NULL);
  if (round_of_python(2) != 0) return 1;
  puts("embedded twice");
  return 0;
}
