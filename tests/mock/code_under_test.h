/*
 * A small "code under test" shared by the mock examples of each test framework
 * (tests/mock/): a public function built on a static helper, and functions that
 * reach libc through zlib.
 */
#ifndef CHOOK_TEST_MOCK_CODE_H
#define CHOOK_TEST_MOCK_CODE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Sums the digits of s through a static helper, digit_value(). */
int cut_sum_digits(const char *s);
/* The address of the static helper (what a test finds by name in real code). */
void *cut_digit_value_address(void);
/* compress() of n bytes of 'a': zlib's status (Z_OK, Z_MEM_ERROR...). */
int cut_compress(size_t n);
/* Writes text to a new gzip file at path: gzclose()'s status (Z_OK, Z_ERRNO...).
 * *fd receives the file's descriptor. */
int cut_save_gz(const char *path, const char *text, int *fd);

#ifdef __cplusplus
}
#endif

#endif
