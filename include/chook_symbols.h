/*
 * chook_symbols.h — modules and symbols: find functions by name, hooks by
 * name and by pattern, hooks on modules not loaded yet.
 *
 * Part of <chook.h>, which includes every module header; each may also be
 * included alone.
 */
#ifndef CHOOK_SYMBOLS_PUBLIC_H
#define CHOOK_SYMBOLS_PUBLIC_H

#include "chook_intercept.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ============================================================================
 * Modules and symbols: find functions by name
 * ========================================================================== */

/**
 * One loaded module: the main program, a shared library or the vDSO.
 *
 * Ownership: the strings and the structure are owned by chook and stay valid
 * until the module is unloaded (dlclose); copy what you keep longer.
 */
typedef struct chook_module {
    const char *path;   /**< File it was loaded from: the real path of the program
                             for the main program, as the loader named it for a
                             library; the loader's name for the vDSO. Never NULL. */
    const char *name;   /**< Its file name (the last component of path). */
    const char *soname; /**< Its DT_SONAME, "" when it has none. */
    void *base;         /**< Load bias: runtime address = base + ELF address. */
    void *start;        /**< Lowest address of its loaded segments. */
    void *end;          /**< End of its highest loaded segment. */
    int is_main;        /**< 1 for the main program, 0 otherwise. */
    size_t size;        /**< Bytes of this structure chook filled (see "Structures
                             and the ABI"). */
} chook_module;

/** Called for each module by chook_module_each(); return non-zero to stop. */
typedef int (*chook_module_fn)(const chook_module *module, void *data);

/**
 * Calls `fn` for every loaded module, in load order (the main program first), as
 * dl_iterate_phdr() sees them.
 *
 * @param fn    The callback. It runs with no chook lock held: it may call any
 *              chook function, including hooking.
 * @param data  Passed to fn unchanged.
 * @return CHOOK_OK (also when fn stopped the walk early); CHOOK_EINVAL (NULL fn);
 *         CHOOK_ENOMEM.
 *
 * Thread safety: any thread. A module loaded or unloaded concurrently may or may
 * not be seen.
 */
CHOOK_API int chook_module_each(chook_module_fn fn, void *data);

/**
 * Finds a loaded module by name.
 *
 * @param name    The module's path (exactly as loaded, or as a real path), its file
 *                name, its soname, or one of those without the trailing version
 *                numbers ("libz.so" names "libz.so.1"). "" names the main program.
 * @param module  Receives the module (see chook_module for its lifetime).
 * @return CHOOK_OK; CHOOK_EINVAL (NULL argument); CHOOK_ENOMODULE (no loaded module
 *         of that name); CHOOK_EAMBIGUOUS (several different files match: the
 *         message lists them).
 */
CHOOK_API int chook_module_find(const char *name, const chook_module **module);

/** Flags of a chook_symbol. */
enum chook_symbol_flags {
    CHOOK_SYMBOL_FUNCTION = 1 << 0, /**< Code (STT_FUNC or STT_GNU_IFUNC). */
    CHOOK_SYMBOL_OBJECT   = 1 << 1, /**< Data (STT_OBJECT), e.g. a C++ vtable. */
    CHOOK_SYMBOL_EXPORTED = 1 << 2, /**< In .dynsym with global or weak binding: other
                                         modules can link to it. */
    CHOOK_SYMBOL_LOCAL    = 1 << 3, /**< Local binding (a static function): known only
                                         from .symtab or the separate debug file. */
    CHOOK_SYMBOL_IFUNC    = 1 << 4, /**< A GNU indirect function: address is the
                                         implementation the resolver selected. */
    CHOOK_SYMBOL_DEBUG    = 1 << 5, /**< Found only in the separate debug file. */
};

/**
 * One symbol of a loaded module.
 *
 * Ownership: owned by chook, valid until its module is unloaded.
 */
typedef struct chook_symbol {
    const char *name;            /**< Name as in the symbol table (mangled for C++),
                                      without a version suffix. */
    void *address;               /**< Runtime address; for an IFUNC, the selected
                                      implementation (strlen -> __strlen_avx2). */
    size_t size;                 /**< Size in bytes from the symbol table (for an
                                      IFUNC, that of the implementation when known);
                                      0 when unknown. */
    unsigned flags;              /**< CHOOK_SYMBOL_* bits. */
    void *resolver;              /**< For an IFUNC, its resolver; NULL otherwise. */
    const chook_module *module;  /**< The module that defines it. */
    size_t size_of_struct;       /**< Bytes of this structure chook filled (see
                                      "Structures and the ABI"); `size` is the
                                      symbol's. */
} chook_symbol;

/**
 * Resolves a symbol by name.
 *
 * Exported symbols (.dynsym, default version) are searched first, as the dynamic
 * linker would; then local ones (the .symtab of the module's file on disk, or of
 * its separate debug file found by build-id under /usr/lib/debug/.build-id/ or by
 * .gnu_debuglink). Of a versioned symbol, the default version is found. A GNU
 * IFUNC resolves to the implementation selected for this CPU (its resolver is
 * called, as the dynamic linker does).
 *
 * @param module  Module name as for chook_module_find(); NULL searches every module
 *                in load order (the first exported definition wins, as for
 *                dlsym(RTLD_DEFAULT)).
 * @param name    Symbol name (mangled for C++).
 * @param symbol  Receives the symbol (may be NULL).
 * @param address Receives its runtime address (may be NULL).
 * @return CHOOK_OK; CHOOK_EINVAL (NULL name); CHOOK_ENOMODULE; CHOOK_ENOSYM (no
 *         such symbol: the message names the tables searched); CHOOK_EAMBIGUOUS
 *         (no exported definition and several local symbols of that name at
 *         different addresses: the message lists each with its module and
 *         address; name the module to choose).
 *
 * Thread safety: any thread. The first lookup in a module parses its ELF file
 * (and debug file); later lookups use the cached tables.
 */
CHOOK_API int chook_symbol_lookup(const char *module, const char *name,
                                  chook_symbol *symbol, void **address);

/** Called for each symbol by chook_symbol_each(); return non-zero to stop. */
typedef int (*chook_symbol_fn)(const chook_symbol *symbol, void *data);

/**
 * Enumerates the functions of the loaded modules whose names match a pattern.
 *
 * @param pattern  "MODULE:SYMBOL", both fnmatch(3) globs, e.g. "libz.so*:deflate*";
 *                 or "SYMBOL" alone for every module. MODULE is tried against each
 *                 module's path, file name and soname; "" before the colon is the
 *                 main program. Functions are the defined STT_FUNC and
 *                 STT_GNU_IFUNC symbols, exported and local; a function known
 *                 under several names is reported once per name; symbols of old
 *                 (non-default) versions are not reported.
 * @param fn       Called once per matching function, in module load order and by
 *                 name within a module; it runs with no chook lock held and may
 *                 install hooks (e.g. inside a transaction).
 * @param data     Passed to fn unchanged.
 * @return CHOOK_OK (also when fn stopped early); CHOOK_EINVAL (NULL argument);
 *         CHOOK_ENOMODULE (no module matches MODULE); CHOOK_ENOSYM (no function
 *         matched); CHOOK_ENOMEM.
 *
 * Thread safety: any thread.
 */
CHOOK_API int chook_symbol_each(const char *pattern, chook_symbol_fn fn, void *data);

/** Flags of chook_symbol_each_ex() and chook_attach_pattern(). */
enum chook_each_flags {
    /** Only exported functions (in .dynsym, global or weak binding): what other
     *  modules can call. Without it a module's local and hidden functions are
     *  reported too (all of libc's internal ones once its debug file is
     *  installed); tracers want this flag for libraries. */
    CHOOK_EACH_EXPORTED = 1 << 0,
    /** A symbol pattern also matches the compiler's clones of the names it
     *  matches: "foo" finds foo.constprop.0, foo.isra.0, foo.part.0, foo.cold,
     *  foo.lto_priv.0 (GCC) and foo.llvm.N (Clang) besides foo. A clone may take
     *  other parameters than the function it copies (constprop and isra drop or
     *  split them); a .cold part is not a function entry at all. */
    CHOOK_EACH_CLONES = 1 << 1,
};

/**
 * chook_symbol_each() with flags.
 *
 * @param pattern, fn, data  As chook_symbol_each().
 * @param flags    CHOOK_EACH_* bits; 0 is chook_symbol_each().
 * @return As chook_symbol_each(); CHOOK_EINVAL for unknown flags.
 *
 * Thread safety: any thread.
 */
CHOOK_API int chook_symbol_each_ex(const char *pattern, unsigned flags, chook_symbol_fn fn,
                                   void *data);

/* ---------------------------------------------------------------------------
 * Hooks by name
 * ------------------------------------------------------------------------- */

/**
 * chook_install_ex() on a function found by name with chook_symbol_lookup().
 *
 *     static int (*orig_deflate)(z_streamp, int);
 *     chook_install_name("libz.so.1", "deflate", my_deflate, (void **)&orig_deflate, NULL);
 *
 * @param module       Module name as for chook_module_find(); NULL for any module.
 * @param symbol       Function name (exported, or local from .symtab / debug file).
 * @param replacement  As chook_install().
 * @param original     As chook_install() (may be NULL).
 * @param hook         As chook_install_ex() (may be NULL).
 * @return CHOOK_OK; CHOOK_EINVAL (NULL symbol or replacement); any status of
 *         chook_symbol_lookup() (CHOOK_ENOMODULE, CHOOK_ENOSYM, CHOOK_EAMBIGUOUS)
 *         or of chook_install_ex(), whose message is prefixed with
 *         "module:symbol: ". Inside a transaction, applied at commit.
 *
 * A module that is not loaded gives CHOOK_ENOMODULE; to hook it when it gets
 * loaded, see chook_install_deferred().
 */
CHOOK_API int chook_install_name(const char *module, const char *symbol, void *replacement,
                                 void **original, chook_hook **hook);

/**
 * chook_uninstall() on a function found by name.
 *
 * @return CHOOK_OK; CHOOK_EINVAL (NULL symbol); any status of chook_symbol_lookup()
 *         or chook_uninstall().
 */
CHOOK_API int chook_uninstall_name(const char *module, const char *symbol);

/**
 * chook_attach_ex() on a function found by name with chook_symbol_lookup().
 *
 *     chook_attach_name("libc.so.6", "open", on_enter, on_leave, NULL, NULL, &l);
 *
 * @param module    Module name as for chook_module_find(); NULL for any module.
 * @param symbol    Function name.
 * @param on_enter, on_leave, data, opts, listener  As chook_attach_ex() (opts may
 *                  be NULL).
 * @return CHOOK_OK; CHOOK_EINVAL (NULL symbol); any status of chook_symbol_lookup()
 *         or of chook_attach_ex(), whose message is prefixed with "module:symbol: ".
 *         Detach with chook_detach().
 */
CHOOK_API int chook_attach_name(const char *module, const char *symbol, chook_enter_fn on_enter,
                                chook_leave_fn on_leave, void *data,
                                const chook_attach_opts *opts, chook_listener **listener);

/** One function matched by chook_attach_pattern(). */
typedef struct chook_pattern_match {
    const chook_symbol *symbol; /**< The function; valid during the callback only
                                    (its strings and module: while the module is
                                    loaded). */
    size_t base_len;           /**< Length of symbol->name without a compiler clone
                                    suffix (".constprop.0", ".isra.0", ".part.0",
                                    ".cold"...); strlen(symbol.name) when none. */
    void *data;                /**< Given to the listener's callbacks: the `data` of
                                    chook_attach_pattern(), which `select` may
                                    replace for this function. */
    chook_listener *listener;  /**< Its listener when attached, else NULL. */
    int status;                /**< CHOOK_OK when attached; else why not:
                                    CHOOK_EEXIST (an alias of a function matched
                                    before: `reason` names it), CHOOK_ENOTSUP (a
                                    cold part: entered by a jump, not a call),
                                    CHOOK_ENOLEAVE (on_leave was given and the
                                    function returns twice or reads its own return
                                    address: skipped, the others are attached), a
                                    chook_probe() refusal (skipped the same way), or
                                    what chook_attach_ex() / the commit answered. */
    char reason[192];          /**< The failure's message; "" when attached. */
    size_t size;               /**< Bytes of this structure chook filled (see
                                    "Structures and the ABI"). Handed out by chook:
                                    never allocate or copy one. */
} chook_pattern_match;

/** Called by chook_attach_pattern() for each match; see there. */
typedef int (*chook_pattern_fn)(chook_pattern_match *match, void *arg);

/**
 * Attaches a listener to every function whose name matches a pattern, all in
 * one transaction: the threads are stopped once for the whole batch.
 *
 *     size_t n;
 *     chook_attach_pattern("libc.so.6:open*", CHOOK_EACH_EXPORTED, on_enter, on_leave,
 *                          NULL, NULL, NULL, report, NULL, &n);
 *
 * A function known under several names (open and open64) is attached once, under
 * the first name in module order; the others are reported with CHOOK_EEXIST.
 * Functions that cannot be hooked (chook_probe() says why) are reported and
 * skipped; the others are attached.
 *
 * @param pattern   As chook_symbol_each() ("MODULE:SYMBOL" globs).
 * @param flags     CHOOK_EACH_* bits (CHOOK_EACH_EXPORTED for libraries is what a
 *                  tracer wants; CHOOK_EACH_CLONES reaches the compiler's clones).
 * @param on_enter, on_leave, opts  As chook_attach_ex(), for every function.
 * @param data      Default data of every listener (see chook_pattern_match.data).
 * @param select    Called for each match before anything is attached, with
 *                  status CHOOK_OK (may be NULL: every match is taken): return 0 to
 *                  leave the function alone (exclusions), non-zero to attach it;
 *                  it may set match->data.
 * @param report    Called once for each selected match after the commit, with
 *                  listener, status and reason filled in (may be NULL). Matches
 *                  not selected are not reported.
 * @param arg       Passed to select and report.
 * @param attached  Receives the number of listeners attached (may be NULL).
 * @return CHOOK_OK when the transaction was committed (some functions may have
 *         been skipped: see report and *attached); CHOOK_EINVAL (NULL pattern,
 *         bad flags, both callbacks NULL); CHOOK_ENOMODULE, CHOOK_ENOSYM (nothing
 *         matches); CHOOK_ENOMEM; or what the commit answered (then nothing is
 *         attached and every report says so). When the calling thread has a
 *         transaction open, the listeners join it and take effect at its commit
 *         (the report then says "queued": status CHOOK_OK).
 *
 * Detach each listener with chook_detach() (inside one transaction to stop the
 * threads once).
 *
 * Thread safety: any thread; not from a callback of a listener.
 */
CHOOK_API int chook_attach_pattern(const char *pattern, unsigned flags, chook_enter_fn on_enter,
                                   chook_leave_fn on_leave, void *data,
                                   const chook_attach_opts *opts, chook_pattern_fn select,
                                   chook_pattern_fn report, void *arg, size_t *attached);

/* ---------------------------------------------------------------------------
 * Hooks on modules not loaded yet
 * ------------------------------------------------------------------------- */

/** A hook by name that follows its module through dlopen and dlclose (opaque). */
typedef struct chook_pending chook_pending;

/**
 * Hooks a function by name in a module now if it is loaded, and again every time
 * a module of that name is loaded by dlopen, before any of its code runs
 * (including its constructors); the hook goes away when the module is unloaded by
 * dlclose.
 *
 *     static int (*orig_init)(void);
 *     chook_install_deferred("libplugin.so", "plugin_init", my_init,
 *                            (void **)&orig_init, &p);
 *     void *h = dlopen("libplugin.so", RTLD_NOW); // plugin_init is hooked already
 *
 * How: chook hooks the function the dynamic linker calls at each change of its
 * module list (_dl_debug_state, published as r_debug.r_brk for debuggers). When
 * dlopen has mapped new modules, before relocating them and before their
 * constructors, the pending hooks are installed on the modules they name. Before
 * dlclose unmaps anything (the list does not say which modules go) every hook
 * placed this way is removed, and once it is done, put back on the matching
 * modules still loaded: during a dlclose the hooked functions of other modules
 * briefly run unhooked.
 *
 * @param module       The module's name as for chook_module_find(): its file name,
 *                     soname, path, or one of those without version numbers
 *                     ("libplugin.so"). Must not be NULL or "".
 * @param symbol       Function name (exported or local, as chook_symbol_lookup()).
 * @param replacement  As chook_install().
 * @param original     Variable that receives the original each time the hook is
 *                     applied (may be NULL); it must stay valid until
 *                     chook_pending_remove(). Written before the module's code can
 *                     reach the replacement.
 * @param handle       Receives the handle (may be NULL: then it cannot be removed).
 *                     Owned by chook, valid until chook_pending_remove() succeeds.
 * @return CHOOK_OK (hooked now, or pending); CHOOK_EINVAL (NULL or empty argument);
 *         CHOOK_ENOSYS (the dynamic linker offers no r_brk, e.g. a static program);
 *         for a module loaded now, any status of chook_install_name() (nothing
 *         is kept pending then); CHOOK_ENOMEM.
 *
 * A failure when a module is loaded later (no such symbol in it, an IFUNC, whose
 * resolver cannot run before relocation, a thread that does not stop...) does
 * not fail dlopen: the module runs unhooked and chook_pending_status() reports
 * the status. Only modules of the base namespace (not dlmopen) are watched.
 *
 * Thread safety: any thread. Not from inside a replacement that runs during
 * dlopen or dlclose.
 */
CHOOK_API int chook_install_deferred(const char *module, const char *symbol, void *replacement,
                                     void **original, chook_pending **handle);

/**
 * Removes a deferred hook from every module it hooks and stops watching for its
 * module.
 *
 * @param handle  From chook_install_deferred(); stale after CHOOK_OK.
 * @return CHOOK_OK; CHOOK_EINVAL (NULL, or not a deferred hook handle);
 *         CHOOK_ENOTHOOKED (already removed: a stale handle); any
 *         status of chook_remove() (the handle stays valid then).
 */
CHOOK_API int chook_pending_remove(chook_pending *handle);

/**
 * Reports what a deferred hook is doing.
 *
 * @param handle  From chook_install_deferred().
 * @return The number of loaded modules it hooks now (> 0); 0 when it waits for its
 *         module; the negative status of its last failed application when it
 *         hooks none (chook_last_error() of that failure is not kept); CHOOK_EINVAL
 *         for NULL or a value that is not a deferred hook handle;
 *         CHOOK_ENOTHOOKED for a handle removed already.
 */
CHOOK_API int chook_pending_status(const chook_pending *handle);

#ifdef __cplusplus
}
#endif

#endif /* CHOOK_SYMBOLS_PUBLIC_H */
