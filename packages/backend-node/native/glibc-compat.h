/*
 * Included (-include) into every file of the prebuilt addons only (scripts/build-prebuilt.mjs), so
 * that the binaries committed for linux-x64 and linux-arm64 load on glibc older than the one that
 * built them.
 *
 * Built on Debian 12 (glibc 2.36), the addon asked for three symbols at versions newer than the
 * glibc 2.28 that Node 20's own binaries need: pthread_create and pthread_join at GLIBC_2.34 (the
 * release that moved libpthread into libc) and hypot at GLIBC_2.35 (the release that dropped its
 * SVID error wrapper). Each is bound here to the architecture's baseline version (GLIBC_2.2.5 on
 * x86-64, GLIBC_2.17 on arm64), which every glibc since exports: libc.so.6 keeps the old pthread symbols as aliases of the same functions, and
 * libm the old hypot, whose wrapper only adds errno handling for overflow (the addon never reads
 * errno, and its arguments never overflow: plane rotations of finite entries). The x64 addon's
 * other symbols are at 2.2.5, 2.14 (memcpy) and 2.16 (aligned_alloc); the arm64 one's all at 2.17.
 *
 * On glibc < 2.34 the old pthread_create lives in libpthread.so.0, which Node has loaded
 * before any addon; the dynamic linker finds a versioned symbol in any loaded object.
 */
#if defined(__linux__) && (defined(__x86_64__) || defined(__aarch64__))
#include <features.h>
#endif
#if defined(__GLIBC__) && defined(__x86_64__)
__asm__(".symver pthread_create,pthread_create@GLIBC_2.2.5");
__asm__(".symver pthread_join,pthread_join@GLIBC_2.2.5");
__asm__(".symver hypot,hypot@GLIBC_2.2.5");
#elif defined(__GLIBC__) && defined(__aarch64__)
/* aarch64's first glibc was 2.17: its baseline version */
__asm__(".symver pthread_create,pthread_create@GLIBC_2.17");
__asm__(".symver pthread_join,pthread_join@GLIBC_2.17");
__asm__(".symver hypot,hypot@GLIBC_2.17");
#endif
