/* The code under test of tests/mock/ (see code_under_test.h). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "code_under_test.h"

static __attribute__((noipa)) int digit_value(char c)
{
    int r = c - '0';
    __asm__ volatile("" : "+r"(r));
    return r;
}

int cut_sum_digits(const char *s)
{
    int sum = 0;
    for (; *s; s++) sum += digit_value(*s);
    return sum;
}

void *cut_digit_value_address(void) { return (void *)digit_value; }

int cut_compress(size_t n)
{
    unsigned char *src = calloc(1, n), *dst = calloc(1, compressBound(n));
    if (!src || !dst) {
        free(src);
        free(dst);
        return Z_MEM_ERROR;
    }
    memset(src, 'a', n);
    uLongf dlen = compressBound(n);
    int st = compress(dst, &dlen, src, n);
    free(src);
    free(dst);
    return st;
}

int cut_save_gz(const char *path, const char *text, int *fd)
{
    *fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (*fd < 0) return Z_ERRNO;
    gzFile gz = gzdopen(*fd, "wb");
    if (!gz) return Z_MEM_ERROR;
    if (gzputs(gz, text) < 0) {
        gzclose(gz);
        return Z_ERRNO;
    }
    return gzclose(gz);
}
