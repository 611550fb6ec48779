/*
 * The layouts of chook_mock.h, printed apart: chook_mock.h and chook_point.h
 * cannot be included in one file (both define CHOOK_RETURN).
 */
#include <stdio.h>

#include <chook_mock.h>

#include "structs.h"

void print_mock_structs(void)
{
    STRUCT(chook_mock_opts);
    FIELD(chook_mock_opts, flags);
    FIELD(chook_mock_opts, data);
    FIELD(chook_mock_opts, capture);
    FIELD(chook_mock_opts, size);

    /* An array element (chook_mock_returns): its size is fixed. */
    STRUCT(chook_mock_step);
    FIELD(chook_mock_step, value);
    FIELD(chook_mock_step, error);
    FIELD(chook_mock_step, times);
}
