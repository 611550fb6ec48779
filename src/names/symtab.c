/*
 * Reading a module's symbols with libelf: .dynsym (exported, with symbol
 * versions), .symtab (local symbols), and when the file was stripped, the .symtab
 * of its separate debug file, found by build-id under <debug root>/.build-id/ or
 * by .gnu_debuglink. The result is copied into chook's own memory so no ELF file
 * stays open or mapped.
 */
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>

#include "internal.h"
#include "lockrank.h"
#include "stop.h"
#include "symbols.h"

#define DEBUG_ROOT_DEFAULT "/usr/lib/debug"

static chook__mutex root_lock;
static char debug_root[256] = DEBUG_ROOT_DEFAULT;

void chook__symtab_set_debug_root(const char *dir)
{
    chook__mutex_lock(&root_lock);
    const char *src = dir ? dir : DEBUG_ROOT_DEFAULT;
    size_t n = chook__strlen(src);
    if (n >= sizeof(debug_root)) n = sizeof(debug_root) - 1;
    chook__memcpy(debug_root, src, n);
    debug_root[n] = '\0';
    chook__mutex_unlock(&root_lock);
}

/* ---- growing arrays in chook's heap ---------------------------------------------- */

typedef struct builder {
    chook__sym *syms;
    size_t n, cap;
    char *str;
    size_t len, str_cap;
    int oom;
} builder;

static void *grow(void *old, size_t old_bytes, size_t new_bytes)
{
    void *p = chook__alloc(new_bytes);
    if (!p) return NULL;
    if (old) {
        chook__memcpy(p, old, old_bytes);
        chook__free(old, old_bytes);
    }
    return p;
}

static uint32_t add_string(builder *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->str_cap) {
        size_t cap = b->str_cap ? b->str_cap * 2 : 4096;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = grow(b->str, b->str_cap, cap);
        if (!p) {
            b->oom = 1;
            return 0;
        }
        b->str = p;
        b->str_cap = cap;
    }
    uint32_t off = (uint32_t)b->len;
    chook__memcpy(b->str + b->len, s, n);
    b->str[b->len + n] = '\0';
    b->len += n + 1;
    return off;
}

static void add_sym(builder *b, const char *name, size_t name_len, uint64_t value,
                    uint64_t size, uint8_t type, uint8_t flags)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        chook__sym *p = grow(b->syms, b->cap * sizeof(*p), cap * sizeof(*p));
        if (!p) {
            b->oom = 1;
            return;
        }
        b->syms = p;
        b->cap = cap;
    }
    uint32_t off = add_string(b, name, name_len);
    if (b->oom) return;
    b->syms[b->n++] = (chook__sym){ .value = value, .size = size, .name = off,
                                    .type = type, .flags = flags };
}

/* ---- one symbol section ------------------------------------------------------------ */

static void read_symbols(builder *b, Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh,
                         Elf_Data *versym, uint8_t extra_flags)
{
    Elf_Data *data = elf_getdata(scn, NULL);
    if (!data || sh->sh_entsize == 0) return;
    size_t count = sh->sh_size / sh->sh_entsize;
    int dynamic = sh->sh_type == SHT_DYNSYM;
    for (size_t i = 1; i < count && !b->oom; i++) {
        GElf_Sym sym;
        if (!gelf_getsym(data, (int)i, &sym)) break;
        int type = GELF_ST_TYPE(sym.st_info);
        if (type != STT_FUNC && type != STT_GNU_IFUNC && type != STT_OBJECT) continue;
        if (sym.st_shndx == SHN_UNDEF || sym.st_shndx == SHN_ABS) continue;
        const char *name = elf_strptr(elf, sh->sh_link, sym.st_name);
        if (!name || !*name) continue;

        uint8_t flags = extra_flags;
        int bind = GELF_ST_BIND(sym.st_info);
        int vis = GELF_ST_VISIBILITY(sym.st_other);
        if (bind == STB_LOCAL) flags |= CHOOK__SYM_LOCAL;
        else if (dynamic && (vis == STV_DEFAULT || vis == STV_PROTECTED))
            flags |= CHOOK__SYM_EXPORTED;

        size_t len = chook__strlen(name);
        if (dynamic && versym) {
            GElf_Versym v;
            /* The hidden bit marks a non-default version (name@VER, not @@). */
            if (gelf_getversym(versym, (int)i, &v) && (v & 0x8000)) flags |= CHOOK__SYM_OLDVER;
        } else {
            /* .symtab spells versions into the name: name@@VER is the default,
             * name@VER an old one. */
            for (size_t k = 0; k < len; k++) {
                if (name[k] != '@') continue;
                if (name[k + 1] != '@') flags |= CHOOK__SYM_OLDVER;
                len = k;
                break;
            }
        }
        if (len == 0) continue;
        add_sym(b, name, len, sym.st_value, sym.st_size, (uint8_t)type, flags);
    }
}

/* ---- sorting and merging ----------------------------------------------------------- */

static int cmp_name(const void *a, const void *b, void *ctx)
{
    const chook__sym *x = a, *y = b;
    const char *s = ctx;
    int c = chook__strcmp(s + x->name, s + y->name);
    if (c) return c;
    if (x->value != y->value) return x->value < y->value ? -1 : 1;
    return 0;
}

static int cmp_addr(const void *a, const void *b, void *ctx)
{
    const chook__sym *syms = ctx;
    const chook__sym *x = &syms[*(const uint32_t *)a], *y = &syms[*(const uint32_t *)b];
    if (x->value != y->value) return x->value < y->value ? -1 : 1;
    if (x->size != y->size) return x->size > y->size ? -1 : 1; /* largest first */
    return 0;
}

/* The same symbol seen in .dynsym and .symtab (or the debug file) becomes one
 * entry: exported if any table exports it, local/old-version/debug-only only if
 * every table says so. */
static void merge_duplicates(builder *b)
{
    if (b->n == 0) return;
    size_t w = 0;
    for (size_t r = 1; r < b->n; r++) {
        chook__sym *prev = &b->syms[w], *cur = &b->syms[r];
        if (cur->value == prev->value &&
            chook__strcmp(b->str + cur->name, b->str + prev->name) == 0) {
            uint8_t keep = (prev->flags & cur->flags) &
                           (CHOOK__SYM_LOCAL | CHOOK__SYM_OLDVER | CHOOK__SYM_DEBUG);
            prev->flags = keep | ((prev->flags | cur->flags) & CHOOK__SYM_EXPORTED);
            if (cur->size > prev->size) prev->size = cur->size;
            if (cur->type == STT_GNU_IFUNC) prev->type = STT_GNU_IFUNC;
            continue;
        }
        b->syms[++w] = *cur;
    }
    b->n = w + 1;
}

static int build_addr_index(chook__symtab *tab)
{
    size_t count = 0;
    for (size_t i = 0; i < tab->n; i++)
        if (tab->syms[i].type != STT_OBJECT) count++;
    if (count == 0) return CHOOK_OK;
    uint32_t *idx = chook__alloc(count * sizeof(*idx));
    if (!idx) return chook__fail(CHOOK_ENOMEM, "out of memory for a symbol index");
    size_t k = 0;
    for (size_t i = 0; i < tab->n; i++)
        if (tab->syms[i].type != STT_OBJECT) idx[k++] = (uint32_t)i;
    qsort_r(idx, count, sizeof(*idx), cmp_addr, tab->syms);
    /* One entry per address: the largest of its aliases. */
    size_t w = 0;
    for (size_t r = 1; r < count; r++)
        if (tab->syms[idx[r]].value != tab->syms[idx[w]].value) idx[++w] = idx[r];
    tab->by_addr = idx;
    tab->n_by_addr = w + 1;
    tab->by_addr_cap = count;
    return CHOOK_OK;
}

/* ---- finding the separate debug file ---------------------------------------------- */

static int read_build_id(Elf *elf, uint8_t *id, size_t cap)
{
    Elf_Scn *scn = NULL;
    while ((scn = elf_nextscn(elf, scn))) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE) continue;
        Elf_Data *data = elf_getdata(scn, NULL);
        if (!data) continue;
        size_t off = 0, name_off, desc_off;
        GElf_Nhdr nh;
        while ((off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
            if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
                chook__memcmp((const char *)data->d_buf + name_off, "GNU", 4) == 0 &&
                nh.n_descsz > 0 && nh.n_descsz <= cap) {
                chook__memcpy(id, (const char *)data->d_buf + desc_off, nh.n_descsz);
                return (int)nh.n_descsz;
            }
        }
    }
    return 0;
}

static size_t append(char *dst, size_t pos, size_t cap, const char *s, size_t n)
{
    if (pos + n + 1 > cap) return cap; /* marks overflow */
    chook__memcpy(dst + pos, s, n);
    dst[pos + n] = '\0';
    return pos + n;
}

static int debug_by_build_id(const uint8_t *id, int n, char *out, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    char root[256];
    chook__mutex_lock(&root_lock);
    chook__memcpy(root, debug_root, sizeof(root));
    chook__mutex_unlock(&root_lock);
    size_t pos = append(out, 0, cap, root, chook__strlen(root));
    pos = append(out, pos, cap, "/.build-id/", 11);
    for (int i = 0; i < n && pos < cap; i++) {
        char two[3] = { hex[id[i] >> 4], hex[id[i] & 15], '/' };
        pos = append(out, pos, cap, two, i == 0 ? 3 : 2);
    }
    pos = append(out, pos, cap, ".debug", 6);
    return pos < cap;
}

static int file_exists(const char *path)
{
    long fd = chook__sys_open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    chook__sys_close((int)fd);
    return 1;
}

static int has_nul(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!p[i]) return 1;
    return 0;
}

/* .gnu_debuglink: look beside the file, in .debug/ beside it, and under the debug
 * root followed by the file's directory. */
static int debug_by_link(Elf *elf, size_t shstrndx, const char *path, char *out, size_t cap)
{
    Elf_Scn *scn = NULL;
    const char *link = NULL;
    while ((scn = elf_nextscn(elf, scn))) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh)) continue;
        const char *nm = elf_strptr(elf, shstrndx, sh.sh_name);
        if (!nm || chook__strcmp(nm, ".gnu_debuglink") != 0) continue;
        Elf_Data *data = elf_getdata(scn, NULL);
        if (data && data->d_size > 4 && has_nul(data->d_buf, data->d_size))
            link = data->d_buf;
        break;
    }
    if (!link || !*link || !path[0]) return 0;
    size_t dir_len = chook__strlen(path);
    while (dir_len > 0 && path[dir_len - 1] != '/') dir_len--;
    char root[256];
    chook__mutex_lock(&root_lock);
    chook__memcpy(root, debug_root, sizeof(root));
    chook__mutex_unlock(&root_lock);
    const char *prefixes[3][2] = { { "", "" }, { "", ".debug/" }, { root, "" } };
    for (int i = 0; i < 3; i++) {
        size_t pos = append(out, 0, cap, prefixes[i][0], chook__strlen(prefixes[i][0]));
        pos = append(out, pos, cap, path, dir_len);
        pos = append(out, pos, cap, prefixes[i][1], chook__strlen(prefixes[i][1]));
        pos = append(out, pos, cap, link, chook__strlen(link));
        if (pos < cap && chook__strcmp(out, path) != 0 && file_exists(out)) return 1;
    }
    return 0;
}

/* Adds the .symtab of the debug file at dpath when its build-id is `id`. */
static int load_debug_file(builder *b, const char *dpath, const uint8_t *id, int id_len)
{
    long fd = chook__sys_open(dpath, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    int found = 0;
    Elf *elf = elf_begin((int)fd, ELF_C_READ_MMAP, NULL);
    if (elf && elf_kind(elf) == ELF_K_ELF) {
        uint8_t did[64];
        int dn = read_build_id(elf, did, sizeof(did));
        if (id_len == 0 || (dn == id_len && chook__memcmp(did, id, (size_t)dn) == 0)) {
            Elf_Scn *scn = NULL;
            while ((scn = elf_nextscn(elf, scn))) {
                GElf_Shdr sh;
                if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB) {
                    read_symbols(b, elf, scn, &sh, NULL, CHOOK__SYM_DEBUG);
                    found = 1;
                }
            }
        }
    }
    if (elf) elf_end(elf);
    chook__sys_close((int)fd);
    return found;
}

/* ---- the whole file ----------------------------------------------------------------- */

static void read_soname(Elf *elf, char *soname, size_t cap)
{
    Elf_Scn *scn = NULL;
    while ((scn = elf_nextscn(elf, scn))) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC) continue;
        Elf_Data *data = elf_getdata(scn, NULL);
        if (!data || sh.sh_entsize == 0) return;
        for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
            GElf_Dyn dyn;
            if (!gelf_getdyn(data, (int)i, &dyn) || dyn.d_tag == DT_NULL) break;
            if (dyn.d_tag != DT_SONAME) continue;
            const char *s = elf_strptr(elf, sh.sh_link, dyn.d_un.d_val);
            if (!s) return;
            size_t n = chook__strlen(s);
            if (n >= cap) n = cap - 1;
            chook__memcpy(soname, s, n);
            soname[n] = '\0';
            return;
        }
    }
}

int chook__symtab_load(chook__symtab *tab, const char *path, const void *image,
                       size_t image_size, char *soname, size_t soname_size)
{
    static int elf_ready;
    if (!__atomic_load_n(&elf_ready, __ATOMIC_ACQUIRE)) {
        if (elf_version(EV_CURRENT) == EV_NONE)
            return chook__fail(CHOOK_ENOSYS, "libelf does not support this ELF version");
        __atomic_store_n(&elf_ready, 1, __ATOMIC_RELEASE);
    }

    long fd = -1;
    Elf *elf;
    void *copy = NULL;
    if (image) {
        /* libelf may adjust an image in place: give it a private copy. */
        copy = chook__alloc(image_size);
        if (!copy) return chook__fail(CHOOK_ENOMEM, "out of memory for the ELF image of %s", path);
        chook__memcpy(copy, image, image_size);
        elf = elf_memory(copy, image_size);
    } else {
        fd = chook__sys_open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return chook__fail(CHOOK_ENOMODULE, "cannot open module file %s (errno %ld)", path, -fd);
        elf = elf_begin((int)fd, ELF_C_READ_MMAP, NULL);
    }
    int status = CHOOK_OK;
    builder b = { 0 };
    size_t shstrndx = 0;
    if (!elf || elf_kind(elf) != ELF_K_ELF || elf_getshdrstrndx(elf, &shstrndx) != 0) {
        status = chook__fail(CHOOK_ENOTSUP, "%s is not a readable ELF file: %s", path,
                             elf_errmsg(-1));
        goto out;
    }

    /* .gnu.version must be read before .dynsym so versions are known. */
    Elf_Data *versym = NULL;
    Elf_Scn *scn = NULL;
    while ((scn = elf_nextscn(elf, scn))) {
        GElf_Shdr sh;
        if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_GNU_versym)
            versym = elf_getdata(scn, NULL);
    }
    scn = NULL;
    while ((scn = elf_nextscn(elf, scn))) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh)) continue;
        if (sh.sh_type == SHT_DYNSYM) {
            read_symbols(&b, elf, scn, &sh, versym, 0);
        } else if (sh.sh_type == SHT_SYMTAB) {
            read_symbols(&b, elf, scn, &sh, NULL, 0);
            tab->has_symtab = 1;
        }
    }
    if (soname) read_soname(elf, soname, soname_size);

    if (!tab->has_symtab && !image) {
        uint8_t id[64];
        int id_len = read_build_id(elf, id, sizeof(id));
        char dpath[sizeof(tab->debug_path)];
        if ((id_len > 0 && debug_by_build_id(id, id_len, dpath, sizeof(dpath)) &&
             load_debug_file(&b, dpath, id, id_len)) ||
            (debug_by_link(elf, shstrndx, path, dpath, sizeof(dpath)) &&
             load_debug_file(&b, dpath, id, id_len))) {
            tab->has_symtab = 1;
            chook__memcpy(tab->debug_path, dpath, sizeof(dpath));
        }
    }
    if (b.oom) {
        status = chook__fail(CHOOK_ENOMEM, "out of memory reading the symbols of %s", path);
        goto out;
    }

    if (b.n) qsort_r(b.syms, b.n, sizeof(*b.syms), cmp_name, b.str);
    merge_duplicates(&b);
    tab->syms = b.syms;
    tab->n = b.n;
    tab->syms_cap = b.cap;
    tab->strings = b.str;
    tab->strings_len = b.str_cap;
    b.syms = NULL;
    b.str = NULL;
    status = build_addr_index(tab);
out:
    chook__free(b.syms, b.cap * sizeof(*b.syms));
    chook__free(b.str, b.str_cap);
    if (elf) elf_end(elf);
    if (fd >= 0) chook__sys_close((int)fd);
    if (copy) chook__free(copy, image_size);
    if (status != CHOOK_OK) chook__symtab_free(tab);
    return status;
}

void chook__symtab_free(chook__symtab *tab)
{
    chook__free(tab->syms, tab->syms_cap * sizeof(*tab->syms));
    chook__free(tab->by_addr, tab->by_addr_cap * sizeof(*tab->by_addr));
    chook__free(tab->strings, tab->strings_len);
    tab->syms = NULL;
    tab->by_addr = NULL;
    tab->strings = NULL;
    tab->n = tab->n_by_addr = 0;
}

size_t chook__symtab_range(const chook__symtab *tab, const char *name, size_t *first)
{
    size_t lo = 0, hi = tab->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (chook__strcmp(tab->strings + tab->syms[mid].name, name) < 0) lo = mid + 1;
        else hi = mid;
    }
    size_t end = lo;
    while (end < tab->n && chook__strcmp(tab->strings + tab->syms[end].name, name) == 0)
        end++;
    *first = lo;
    return end - lo;
}

long chook__symtab_at(const chook__symtab *tab, uint64_t value)
{
    size_t lo = 0, hi = tab->n_by_addr;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (tab->syms[tab->by_addr[mid]].value <= value) lo = mid + 1;
        else hi = mid;
    }
    return lo == 0 ? -1 : (long)(lo - 1);
}

/* fork() must not split this lock (see chook__fork_guard). */
__attribute__((constructor)) static void symtab_fork_guard(void)
{
    chook__fork_guard(&root_lock, CHOOK_RANK_DEBUG_ROOT);
}
