/* Refused: CHOOK_MOCK checks that the replacement has the function's type. */
#include <stdlib.h>

#include <chook_mock.h>

static int wrong(int x) { return x; }

int main(void)
{
    CHOOK_MOCK(malloc, wrong);
    return 0;
}
