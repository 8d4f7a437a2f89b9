// adviseHugePages(buffer, maxBytes): madvise(MADV_HUGEPAGE) from the start of an ArrayBuffer over at
// most maxBytes, and never past the run of adjacent anonymous mappings that holds its first byte.
//
// A WebAssembly memory's buffer starts a reservation that V8 maps at once for the memory's whole
// possible size (PROT_NONE beyond the pages in use, and guard regions after it) and makes
// accessible page by page as the memory grows: advising the reservation once covers every page the
// heap will ever hold, since the kernel keeps the flag on each part when V8 later changes its
// protection. Where the kernel's transparent huge pages are in `madvise` mode (Debian's and
// Ubuntu's default), the heap then gets 2 MiB pages: one fault where 512 were, and far fewer TLB
// misses for matrices of hundreds of MB. numpy advises its own arrays of 4 MiB and more alike.
//
// Returns the bytes advised, or a negative errno: -ENOSYS where the platform has no MADV_HUGEPAGE,
// -ENOENT where no anonymous mapping holds the buffer (or /proc/self/maps cannot be read),
// madvise's own error otherwise (EINVAL: a kernel built without transparent huge pages).
#include "huge-pages.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#if defined(__linux__) && defined(MADV_HUGEPAGE)
// Whether a line of /proc/self/maps (after its address range) names no file: inode 0 and no path,
// or an anonymous mapping's name ([anon:…]). Fields: perms offset dev inode [path].
static int anonymous_mapping(const char* rest) {
  const char* p = rest;
  for (int field = 0; field < 3; field++) {  // perms, offset, dev
    while (*p == ' ') p++;
    while (*p && *p != ' ') p++;
  }
  char* end;
  unsigned long long inode = strtoull(p, &end, 10);
  if (end == p || inode != 0) return 0;
  while (*end == ' ') end++;
  return *end == '\n' || *end == '\0' || strncmp(end, "[anon:", 6) == 0;
}

// The end of the run of adjacent anonymous mappings that holds addr, 0 if none does.
static uintptr_t anonymous_run_end(uintptr_t addr) {
  FILE* maps = fopen("/proc/self/maps", "r");
  if (!maps) return 0;
  char line[8192];  // a path is at most PATH_MAX (4096) bytes
  uintptr_t end = 0;
  int whole = 1;  // whether this line starts at a line's start (a longer one is read in parts)
  while (fgets(line, sizeof line, maps)) {
    const int starts = whole;
    whole = strchr(line, '\n') != NULL;
    if (!starts) continue;
    char* p;
    const uintptr_t lo = (uintptr_t)strtoull(line, &p, 16);
    if (*p != '-') continue;
    const uintptr_t hi = (uintptr_t)strtoull(p + 1, &p, 16);
    const int anonymous = anonymous_mapping(p);
    if (end == 0) {
      if (lo <= addr && addr < hi) {
        if (!anonymous) break;
        end = hi;
      }
    } else if (lo == end && anonymous) {
      end = hi;
    } else {
      break;  // the lines are in address order: the run has ended
    }
  }
  fclose(maps);
  return end;
}
#endif

napi_value regimes_advise_huge_pages(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void* data = NULL;
  size_t length = 0;
  double max_bytes = 0;
  if (argc < 2 || napi_get_arraybuffer_info(env, argv[0], &data, &length) != napi_ok ||
      napi_get_value_double(env, argv[1], &max_bytes) != napi_ok || !(max_bytes >= 0)) {
    napi_throw_type_error(env, NULL, "adviseHugePages(buffer, maxBytes): an ArrayBuffer and a byte count");
    return NULL;
  }
  double result;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  const uintptr_t page = 4096;
  const uintptr_t start = ((uintptr_t)data + page - 1) & ~(page - 1);
  const uintptr_t run_end = data ? anonymous_run_end(start) : 0;
  if (run_end == 0) {
    result = -ENOENT;
  } else {
    const uintptr_t span = max_bytes < 0x1p52 ? (uintptr_t)max_bytes : (uintptr_t)1 << 52;
    uintptr_t end = (uintptr_t)data + span;
    if (end > run_end) end = run_end;
    end &= ~(page - 1);
    if (end <= start)
      result = 0;
    else
      result = madvise((void*)start, end - start, MADV_HUGEPAGE) == 0 ? (double)(end - start) : -errno;
  }
#else
  (void)length;
  result = -ENOSYS;
#endif
  napi_value out;
  napi_create_double(env, result, &out);
  return out;
}
