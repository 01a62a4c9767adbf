#!/usr/bin/env bash
# record_symbols_test.sh ARCHIVE: fails when the record side (libheapwarden_record.a)
# calls into the heap or stdio by name. It runs inside malloc: it must reach the real
# allocator only through the pointers of alloc/real_allocator.h, never allocate with
# operator new, never throw, and never use stdio (which allocates and takes locks).
# The symbols it needs from outside the archive are listed, and any forbidden one named.
set -euo pipefail
archive=$1
[[ -f $archive ]] || { echo "no archive at $archive"; exit 1; }
undefined=$(nm -u --format=posix "$archive" | awk 'NF >= 2 {print $1}' | sort -u)
defined=$(nm --defined-only --format=posix "$archive" 2>/dev/null | awk 'NF >= 2 {print $1}' | sort -u)
external=$(comm -23 <(printf '%s\n' "$undefined") <(printf '%s\n' "$defined"))
[[ -n $external ]] || { echo "nm found no external symbols in $archive: the check would prove nothing"; exit 1; }
forbidden='^(malloc|calloc|realloc|reallocarray|free|posix_memalign|aligned_alloc|memalign|valloc|pvalloc|strdup|strndup|asprintf|vasprintf|_Znw.*|_Zna.*|_Zdl.*|_Zda.*|__cxa_allocate_exception|__cxa_throw|_ZNSt.*|_ZSt.*|printf|fprintf|vfprintf|sprintf|snprintf|vsnprintf|dprintf|puts|fputs|fputc|putchar|fwrite|fread|fgets|fopen|fdopen|fclose|fflush|stdin|stdout|stderr|_IO_.*)$'
bad=$(printf '%s\n' "$external" | grep -E "$forbidden" || true)
if [[ -n $bad ]]; then
  echo "the record side references what it must not (heap or stdio):"
  printf '  %s\n' $bad
  exit 1
fi
echo "the record side's $(printf '%s\n' "$external" | wc -l) external symbols include no heap or stdio function"
