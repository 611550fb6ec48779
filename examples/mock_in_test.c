/*
 * Mocks in a unit test: make zlib run out of memory and the disk fill up,
 * without touching zlib or linking anything special. Each mock ends with its
 * block; the checks run after it (a mocked malloc or write would meet them).
 *
 *   make demo        (or: build/examples/mock_in_test)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <chook/chook_mock.h>

static void *no_memory(size_t n)
{
    (void)n;
    errno = ENOMEM;
    return NULL;
}

static size_t bytes_asked;

static void *counting_malloc(size_t n)
{
    bytes_asked += n;
    return CHOOK_MOCK_REAL(malloc)(n);    /* the real malloc */
}

static int compress_text(const char *text)
{
    unsigned char out[256];
    uLongf len = sizeof out;
    return compress(out, &len, (const unsigned char *)text, strlen(text));
}

int main(void)
{
    const char *text = "hello, hello, hello, hello";
    int st;
    uint64_t calls;

    {   /* zlib's own calls of malloc, on this thread, answered by no_memory */
        CHOOK_MOCK_THREAD(malloc, no_memory);
        if (!malloc_mock) return fprintf(stderr, "mock: %s\n", chook_last_error()), 1;
        st = compress_text(text);
        calls = chook_mock_calls(malloc_mock);
    }
    printf("compress without memory: %s (malloc mocked %llu times)\n",
           st == Z_MEM_ERROR ? "Z_MEM_ERROR" : "unexpected", (unsigned long long)calls);

    {   /* the same calls, passed on to the real malloc and counted */
        CHOOK_MOCK_THREAD(malloc, counting_malloc);
        st = compress_text(text);
        calls = chook_mock_calls(malloc_mock);
    }
    printf("compress with a counting malloc: %s, %llu calls, %zu bytes\n",
           st == Z_OK ? "Z_OK" : "unexpected", (unsigned long long)calls, bytes_asked);

    /* A sequence, no replacement to write: write() fails with ENOSPC. */
    char path[] = "/tmp/chook_mock_demo_XXXXXX";
    int fd = mkstemp(path);
    gzFile gz = gzdopen(fd, "wb");
    gzputs(gz, text);
    uintptr_t fd_arg = 0;
    {
        CHOOK_MOCK_RETURNS_THREAD(write, CHOOK_MOCK_FAIL_ALWAYS(-1, ENOSPC));
        st = gzclose(gz);
        calls = chook_mock_calls(write_mock);
        chook_mock_arg(write_mock, 0, 0, &fd_arg);
    }
    unlink(path);
    printf("gzclose on a full disk: %s (write mocked %llu times, on fd %d of fd %d)\n",
           st == Z_ERRNO ? "Z_ERRNO" : "unexpected", (unsigned long long)calls, (int)fd_arg, fd);
    printf("after the mocks: compress gives %s\n", compress_text(text) == Z_OK ? "Z_OK" : "?");
    return 0;
}
