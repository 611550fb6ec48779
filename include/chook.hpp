/*
 * chook.hpp — type-safe C++ forms of the chook calls that take functions as
 * void *: the compiler checks that a replacement has its target's type, and no
 * cast is written (clean under -Wpedantic).
 *
 *     #include <chook.hpp>
 *     static int (*orig_puts)(const char *);
 *     static int my_puts(const char *s) { orig_puts("[hooked]"); return orig_puts(s); }
 *     chook::install(puts, my_puts, &orig_puts);   // puts runs my_puts
 *     chook::uninstall(puts);
 *
 * Each function returns what the C function it wraps returns (chook.h documents
 * the statuses, thread safety and ownership); nothing here throws.
 */
#ifndef CHOOK_HPP
#define CHOOK_HPP

#include <cstdint>

#include "chook.h"

namespace chook {

namespace detail {
template <typename T> struct same { using type = T; };
}

/** Function f as the void * the C API takes. */
template <typename F> inline void *fn(F *f) noexcept
{
    return reinterpret_cast<void *>(reinterpret_cast<std::uintptr_t>(f));
}

/** chook_install_ex(): replacement has target's type; original receives the way to
 *  the original function, typed (written before the target is patched). */
template <typename F>
inline int install(F *target, typename detail::same<F>::type *replacement, F **original,
                   chook_hook **hook = nullptr) noexcept
{
    return chook_install_ex(fn(target), fn(replacement), reinterpret_cast<void **>(original),
                            hook);
}

/** chook_uninstall(). */
template <typename F> inline int uninstall(F *target) noexcept
{
    return chook_uninstall(fn(target));
}

/** chook_attach() on a function of any type. */
template <typename F>
inline int attach(F *target, chook_enter_fn on_enter, chook_leave_fn on_leave, void *data,
                  chook_listener **listener) noexcept
{
    return chook_attach(fn(target), on_enter, on_leave, data, listener);
}

/** chook_attach_ex() on a function of any type. */
template <typename F>
inline int attach(F *target, chook_enter_fn on_enter, chook_leave_fn on_leave, void *data,
                  const chook_attach_opts *opts, chook_listener **listener) noexcept
{
    return chook_attach_ex(fn(target), on_enter, on_leave, data, opts, listener);
}

/** chook_probe() on a function of any type. */
template <typename F> inline int probe(F *target, chook_probe_info *info) noexcept
{
    return chook_probe(fn(target), info);
}

} // namespace chook

#endif /* CHOOK_HPP */
