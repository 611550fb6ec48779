/*
 * The extent of the function that holds an address, from the dynamic symbol
 * table (dladdr1). The libelf-backed resolver replaces this with one that also
 * knows local symbols.
 */
#include <dlfcn.h>
#include <link.h>

#include "internal.h"

int chook__symbol_extent(uintptr_t addr, uintptr_t *start, size_t *size,
                         uintptr_t *next_start)
{
    Dl_info info;
    const ElfW(Sym) *sym = NULL;
    if (!dladdr1((void *)addr, &info, (void **)&sym, RTLD_DL_SYMENT) || !sym ||
        !info.dli_saddr || ELF64_ST_TYPE(sym->st_info) != STT_FUNC)
        return 0;
    *start = (uintptr_t)info.dli_saddr;
    *size = sym->st_size;
    *next_start = 0;
    return 1;
}
