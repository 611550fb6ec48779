/*
 * chook_mock.hpp — C++ RAII guards for chook mocks (see chook_mock.h).
 *
 *     #include <chook_mock.hpp>
 *
 *     TEST(Archive, ReportsAFullDisk) {
 *         chook::mock w(::write, [](int, const void *, size_t) -> ssize_t {
 *             errno = ENOSPC;
 *             return -1;
 *         }, chook::this_thread);
 *         EXPECT_EQ(save_archive("a.gz"), Z_ERRNO);   // zlib's write() reached the lambda
 *         EXPECT_GE(w.calls(), 1u);
 *         EXPECT_EQ(std::get<0>(w.args().at(0)), archive_fd);
 *     }                                               // the mock ends here
 *
 *     chook::returns d(::dup, { chook::fail(-1, EMFILE), chook::ret(9) });
 *
 * The function type is deduced from the target (or given: chook::mock<int(char)>).
 * chook::mock<F> replaces a function of type F by any callable of that
 * signature (a lambda with captures, a functor, a function pointer); the types
 * are checked by the compiler, no cast is needed. The callable may call the
 * real function with original(args...). The arguments of every call are kept
 * (args(), a vector of tuples of the decayed argument types). chook::returns<F>
 * answers with a sequence of values for functions returning an integer, an
 * enum or a pointer (chook_mock_returns()).
 *
 * Variadic functions (printf): chook::mock p(::printf, my_printf) takes a
 * plain function pointer of that type (a C variadic replacement that forwards
 * with va_list), since a lambda cannot receive C varargs.
 *
 * Errors: a guard that cannot begin throws chook::mock_error (status() and
 * what() carry chook's status and message). The destructor ends the mock and
 * cannot report a failure: call end() first to check it.
 *
 * Thread safety: as chook_mock.h. A guard is neither copied nor moved (chook
 * keeps its address); keep it in a scope, a fixture member or a
 * std::unique_ptr. Calls of the mocked function made by the guard's own
 * bookkeeping (args() allocating, when malloc or operator new is mocked) run
 * the original.
 */
#ifndef CHOOK_MOCK_HPP
#define CHOOK_MOCK_HPP

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <mutex>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "chook_mock.h"

namespace chook {

/** Thrown when a guard cannot begin its mock. */
class mock_error : public std::runtime_error {
public:
    mock_error(int status, const std::string &what)
        : std::runtime_error(what + ": " + chook_strerror(status) + ": " + chook_last_error()),
          status_(status) {}
    /** The CHOOK_E* status of the failing call. */
    int status() const noexcept { return status_; }

private:
    int status_;
};

/** Where a mock applies: every thread (the default) or the creating thread. */
enum scope : unsigned { all_threads = 0, this_thread = CHOOK_MOCK_THIS_THREAD };

/** One answer of chook::returns: built by ret(), fail(), ret_always(), fail_always(). */
struct step {
    chook_mock_step s;
};

namespace detail {
template <typename T> inline uintptr_t to_word(T v)
{
    static_assert(std::is_integral<T>::value || std::is_enum<T>::value ||
                      std::is_pointer<T>::value || std::is_null_pointer<T>::value,
                  "a sequence answers integers, enums and pointers only");
    if constexpr (std::is_null_pointer<T>::value)
        return 0;
    else if constexpr (std::is_pointer<T>::value)
        return reinterpret_cast<uintptr_t>(v);
    else
        return static_cast<uintptr_t>(static_cast<intptr_t>(v));
}

/* A tiny lock that calls nothing (pthread functions may be the ones mocked). */
class spin {
public:
    void lock() noexcept { while (f_.test_and_set(std::memory_order_acquire)) {} }
    void unlock() noexcept { f_.clear(std::memory_order_release); }

private:
    std::atomic_flag f_ = ATOMIC_FLAG_INIT;
};

inline bool &in_bookkeeping()
{
    static thread_local bool b = false;
    return b;
}

/* The function type without noexcept (C library functions are declared
 * noexcept in C++; a pointer to one converts to the plain type). */
template <typename F> struct plain { using type = F; };
template <typename R, typename... A> struct plain<R(A...) noexcept> { using type = R(A...); };
template <typename R, typename... A> struct plain<R(A..., ...) noexcept> {
    using type = R(A..., ...);
};
template <typename F> using plain_t = typename plain<F>::type;
} // namespace detail

/** Returns v once. */
template <typename T> inline step ret(T v) { return { { detail::to_word(v), 0, 1 } }; }
/** Returns v `times` times in a row. */
template <typename T> inline step ret_n(T v, unsigned times)
{
    return { { detail::to_word(v), 0, times } };
}
/** Returns v on every call from here on. */
template <typename T> inline step ret_always(T v)
{
    return { { detail::to_word(v), 0, CHOOK_MOCK_ALWAYS } };
}
/** Returns v once, with errno set to err. */
template <typename T> inline step fail(T v, int err) { return { { detail::to_word(v), err, 1 } }; }
/** Returns v with errno err on every call from here on. */
template <typename T> inline step fail_always(T v, int err)
{
    return { { detail::to_word(v), err, CHOOK_MOCK_ALWAYS } };
}

namespace detail {
template <typename F> class mock_impl;

/* Replacement mock of a function of type R(Args...), ended by the destructor. */
template <typename R, typename... Args> class mock_impl<R(Args...)> {
public:
    using function_type = R(Args...);
    using args_type = std::tuple<typename std::decay<Args>::type...>;

    /**
     * Replaces `target` by `fn` (any callable with the target's signature).
     * @param target  The function: ::write, a static function of this file, or a
     *                pointer found with chook_symbol_lookup().
     * @param fn      Copied into the guard; runs for each mocked call.
     * @param where   all_threads or this_thread.
     * @throws mock_error when the mock cannot begin (nothing is mocked).
     */
    template <typename Fn, typename = typename std::enable_if<
                               std::is_invocable_r<R, Fn &, Args...>::value>::type>
    mock_impl(function_type *target, Fn fn, scope where = all_threads) : fn_(std::move(fn))
    {
        chook_mock_opts opts{};
        opts.size = sizeof opts;
        opts.flags = static_cast<unsigned>(where) | static_cast<unsigned>(CHOOK_MOCK_CLOSURE);
        opts.data = this;
        int st = chook_mock_begin(reinterpret_cast<void *>(target),
                                  reinterpret_cast<void *>(&mock_impl::entry), &opts,
                                  &handle_);
        if (st != CHOOK_OK) throw mock_error(st, "chook::mock");
    }

    mock_impl(const mock_impl &) = delete;
    mock_impl &operator=(const mock_impl &) = delete;

    /** Ends the mock if it is still active; failures are ignored (see end()). */
    ~mock_impl() { end(); }

    /** Ends the mock now. @return CHOOK_OK, or the status of chook_mock_end(). */
    int end() noexcept
    {
        if (!handle_) return CHOOK_OK;
        int st = chook_mock_end(handle_);
        if (st == CHOOK_OK) handle_ = nullptr;
        return st;
    }

    /** Calls answered by the mock so far. */
    uint64_t calls() const noexcept { return chook_mock_calls(handle_); }

    /** The function as it was before this mock (callable with the same arguments). */
    function_type *original() const noexcept
    {
        return reinterpret_cast<function_type *>(chook_mock_original(handle_));
    }

    /** Runs the original function. */
    R call_original(Args... a) const { return original()(std::forward<Args>(a)...); }

    /** A copy of the arguments of every call answered so far, in call order. */
    std::vector<args_type> args() const
    {
        std::lock_guard<detail::spin> g(lock_);
        guard b;
        return args_;
    }

    /** Forgets the calls and their arguments. */
    void reset()
    {
        std::lock_guard<detail::spin> g(lock_);
        guard b;
        args_.clear();
        chook_mock_reset(handle_);
    }

    /** The C handle (for chook_mock_*()). */
    chook_mock *handle() const noexcept { return handle_; }

private:
    /* Marks the guard's own allocations, which then bypass the mock. */
    struct guard {
        guard() { detail::in_bookkeeping() = true; }
        ~guard() { detail::in_bookkeeping() = false; }
    };

    static R entry(Args... a)
    {
        /* First thing (CHOOK_MOCK_CLOSURE): exact even if a signal handler calls
         * another mocked function before this point. */
        chook_mock *h = static_cast<chook_mock *>(chook_current()->data);
        mock_impl *self = static_cast<mock_impl *>(chook_mock_data(h));
        if (detail::in_bookkeeping())
            return reinterpret_cast<function_type *>(chook_mock_original(h))(
                std::forward<Args>(a)...);
        {
            std::lock_guard<detail::spin> g(self->lock_);
            guard b;
            self->args_.emplace_back(a...);
        }
        return self->fn_(std::forward<Args>(a)...);
    }

    std::function<R(Args...)> fn_;
    chook_mock *handle_ = nullptr;
    mutable detail::spin lock_;
    std::vector<args_type> args_;
};

/* Replacement mock of a variadic function R(Args..., ...) by a C function of the
 * same type (which forwards its varargs with va_list), ended by the destructor. */
template <typename R, typename... Args> class mock_impl<R(Args..., ...)> {
public:
    using function_type = R(Args..., ...);

    /** @throws mock_error when the mock cannot begin. */
    mock_impl(function_type *target, function_type *replacement, scope where = all_threads)
    {
        chook_mock_opts opts{};
        opts.size = sizeof opts;
        opts.flags = where;
        int st = chook_mock_begin(reinterpret_cast<void *>(target),
                                  reinterpret_cast<void *>(replacement), &opts, &handle_);
        if (st != CHOOK_OK) throw mock_error(st, "chook::mock");
    }
    mock_impl(const mock_impl &) = delete;
    mock_impl &operator=(const mock_impl &) = delete;
    ~mock_impl() { end(); }

    int end() noexcept
    {
        if (!handle_) return CHOOK_OK;
        int st = chook_mock_end(handle_);
        if (st == CHOOK_OK) handle_ = nullptr;
        return st;
    }
    uint64_t calls() const noexcept { return chook_mock_calls(handle_); }
    function_type *original() const noexcept
    {
        return reinterpret_cast<function_type *>(chook_mock_original(handle_));
    }
    chook_mock *handle() const noexcept { return handle_; }

private:
    chook_mock *handle_ = nullptr;
};

template <typename F> class returns_impl;

/* Sequence mock of a function returning an integer, an enum or a pointer. */
template <typename R, typename... Args> class returns_impl<R(Args...)> {
    static_assert(std::is_integral<R>::value || std::is_enum<R>::value ||
                      std::is_pointer<R>::value || std::is_void<R>::value,
                  "a sequence mock answers integers, enums and pointers only");

public:
    using function_type = R(Args...);

    /** @throws mock_error when the mock cannot begin. */
    returns_impl(function_type *target, std::initializer_list<step> steps,
                 scope where = all_threads, unsigned capture = 0)
    {
        std::vector<chook_mock_step> s;
        for (const step &x : steps) s.push_back(x.s);
        chook_mock_opts opts{};
        opts.size = sizeof opts;
        opts.flags = where;
        opts.capture = capture;
        int st = chook_mock_returns(reinterpret_cast<void *>(target), s.data(), s.size(), &opts,
                                    &handle_);
        if (st != CHOOK_OK) throw mock_error(st, "chook::returns");
    }
    returns_impl(const returns_impl &) = delete;
    returns_impl &operator=(const returns_impl &) = delete;
    ~returns_impl() { end(); }

    int end() noexcept
    {
        if (!handle_) return CHOOK_OK;
        int st = chook_mock_end(handle_);
        if (st == CHOOK_OK) handle_ = nullptr;
        return st;
    }
    /** Calls seen so far. */
    uint64_t calls() const noexcept { return chook_mock_calls(handle_); }

    /**
     * The n-th integer-class argument of recorded call `call`, converted to T.
     * @throws mock_error when that call is not recorded.
     */
    template <typename T = uintptr_t> T arg(uint64_t call, unsigned n) const
    {
        uintptr_t v = 0;
        int st = chook_mock_arg(handle_, call, n, &v);
        if (st != CHOOK_OK) throw mock_error(st, "chook::returns::arg");
        if constexpr (std::is_pointer<T>::value)
            return reinterpret_cast<T>(v);
        else
            return static_cast<T>(v);
    }
    chook_mock *handle() const noexcept { return handle_; }

private:
    chook_mock *handle_ = nullptr;
};
} // namespace detail

/**
 * chook::mock<F> — replacement mock of a function of type F (int(char),
 * int(const char *, ...); deduced from the target when omitted), ended by the
 * destructor. Constructors:
 *   mock(F *target, Callable fn, scope where = all_threads)   non-variadic F
 *   mock(F *target, F *replacement, scope where = all_threads) variadic F
 * Members: end(), calls(), original(), call_original(args...), args(), reset(),
 * handle() (args, reset and call_original for non-variadic F only).
 */
template <typename F> class mock : public detail::mock_impl<detail::plain_t<F>> {
public:
    using detail::mock_impl<detail::plain_t<F>>::mock_impl;
};

/**
 * chook::returns<F> — sequence mock of a function returning an integer, an enum
 * or a pointer:
 *     chook::returns d(::dup, { chook::fail(-1, EMFILE), chook::ret(9) });
 * Once the steps are used up, calls run the function again. Constructor:
 *   returns(F *target, {steps...}, scope where = all_threads, unsigned capture = 0)
 * Members: end(), calls(), arg<T>(call, n), handle().
 */
template <typename F> class returns : public detail::returns_impl<detail::plain_t<F>> {
public:
    using detail::returns_impl<detail::plain_t<F>>::returns_impl;
};

/* Deduction from the target: chook::mock m(::write, lambda) needs no type
 * (decltype(::malloc) would carry GCC's function attributes, which a template
 * argument drops with a warning). */
template <typename R, typename... A, typename Fn>
mock(R (*)(A...), Fn, scope = all_threads) -> mock<R(A...)>;
template <typename R, typename... A>
mock(R (*)(A..., ...), R (*)(A..., ...), scope = all_threads) -> mock<R(A..., ...)>;
template <typename R, typename... A>
returns(R (*)(A...), std::initializer_list<step>, scope = all_threads, unsigned = 0)
    -> returns<R(A...)>;

} // namespace chook

#endif /* CHOOK_MOCK_HPP */
