/*
 * Hooking a function of a shared library loaded at run time: load zlib with
 * dlopen, watch every crc32() call (arguments and result), and show that the
 * library's own callers are redirected too. Then probe a few functions to see how
 * chook would patch them.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include <chook/chook.h>

typedef unsigned long (*crc32_fn)(unsigned long, const unsigned char *, unsigned);
static crc32_fn orig_crc32;

static unsigned long logged_crc32(unsigned long crc, const unsigned char *buf, unsigned len)
{
    unsigned long r = orig_crc32(crc, buf, len);
    printf("  crc32(0x%lx, %p, %u) = 0x%lx\n", crc, (const void *)buf, len, r);
    return r;
}

int main(void)
{
    void *z = dlopen("libz.so.1", RTLD_NOW);
    if (!z) {
        fprintf(stderr, "dlopen libz.so.1: %s\n", dlerror());
        return 1;
    }
    crc32_fn crc32 = (crc32_fn)dlsym(z, "crc32");
    void *compress_bound = dlsym(z, "compressBound");
    if (!crc32 || !compress_bound) return 1;

    chook_probe_info info;
    const char *names[] = { "crc32", "compressBound", "deflate", "inflate" };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        chook_probe(dlsym(z, names[i]), &info);
        if (info.status == CHOOK_OK)
            printf("probe %-14s: overwrite %zu bytes (%u instructions), trampoline %zu bytes\n",
                   names[i], info.patch_size, info.instructions, info.trampoline_size);
        else
            printf("probe %-14s: not hookable: %s\n", names[i], info.reason);
    }

    if (chook_install((void *)crc32, (void *)logged_crc32, (void **)&orig_crc32) != CHOOK_OK) {
        fprintf(stderr, "chook_install: %s\n", chook_last_error());
        return 1;
    }
    const char *text = "hello, chook";
    printf("hooked:\n");
    unsigned long c = crc32(0, (const unsigned char *)text, (unsigned)strlen(text));
    printf("result 0x%lx\n", c);
    chook_uninstall((void *)crc32);
    printf("unhooked: crc32 = 0x%lx (no log line above)\n",
           crc32(0, (const unsigned char *)text, (unsigned)strlen(text)));
    dlclose(z);
    return 0;
}
