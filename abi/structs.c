/*
 * Prints the layout of every structure of the public headers whose layout is part
 * of the ABI: one line per structure (its size) and per field (offset and size).
 * scripts/check-abi.sh compares the output with abi/chook.structs.
 */
#include <stdio.h>

#include <chook.h>
#include <chook_mock.h>
#include <chook_point.h>

#include "structs.h"


int main(void)
{
    printf("CHOOK_VERSION_MAJOR %d\n", CHOOK_VERSION_MAJOR);
    printf("CHOOK_POINT_ABI %u\n", CHOOK_POINT_ABI);

    STRUCT(chook_probe_info);
    FIELD(chook_probe_info, status);
    FIELD(chook_probe_info, patch_address);
    FIELD(chook_probe_info, skipped);
    FIELD(chook_probe_info, patch_size);
    FIELD(chook_probe_info, padding_used);
    FIELD(chook_probe_info, instructions);
    FIELD(chook_probe_info, trampoline_size);
    FIELD(chook_probe_info, jump);
    FIELD(chook_probe_info, hooked);
    FIELD(chook_probe_info, reason);
    FIELD(chook_probe_info, function_offset);
    FIELD(chook_probe_info, size);
    FIELD(chook_probe_info, function_offset);

    STRUCT(chook_config);
    FIELD(chook_config, signal);
    FIELD(chook_config, stop_timeout_ms);
    FIELD(chook_config, size);

    STRUCT(chook_attach_opts);
    FIELD(chook_attach_opts, signature);
    FIELD(chook_attach_opts, stack_bytes);
    FIELD(chook_attach_opts, size);

    STRUCT(chook_closure);
    FIELD(chook_closure, target);
    FIELD(chook_closure, original);
    FIELD(chook_closure, data);
    FIELD(chook_closure, hook);

    STRUCT(chook_typed);
    FIELD(chook_typed, closure);
    FIELD(chook_typed, prolog);
    FIELD(chook_typed, epilog);

    STRUCT(chook__thread_state);
    FIELD(chook__thread_state, ring_pos);
    FIELD(chook__thread_state, busy);
    FIELD(chook__thread_state, ignore);
    FIELD(chook__thread_state, ring);

    STRUCT(chook_module);
    FIELD(chook_module, path);
    FIELD(chook_module, name);
    FIELD(chook_module, soname);
    FIELD(chook_module, base);
    FIELD(chook_module, start);
    FIELD(chook_module, end);
    FIELD(chook_module, is_main);
    FIELD(chook_module, size);

    STRUCT(chook_symbol);
    FIELD(chook_symbol, name);
    FIELD(chook_symbol, address);
    FIELD(chook_symbol, size);
    FIELD(chook_symbol, flags);
    FIELD(chook_symbol, resolver);
    FIELD(chook_symbol, module);
    FIELD(chook_symbol, size_of_struct);

    STRUCT(chook_pattern_match);
    FIELD(chook_pattern_match, symbol);
    FIELD(chook_pattern_match, base_len);
    FIELD(chook_pattern_match, data);
    FIELD(chook_pattern_match, listener);
    FIELD(chook_pattern_match, status);
    FIELD(chook_pattern_match, reason);
    FIELD(chook_pattern_match, size);

    STRUCT(chook_point_info);
    FIELD(chook_point_info, point);
    FIELD(chook_point_info, name);
    FIELD(chook_point_info, module);
    FIELD(chook_point_info, signature);
    FIELD(chook_point_info, file);
    FIELD(chook_point_info, line);
    FIELD(chook_point_info, nargs);
    FIELD(chook_point_info, returns_void);
    FIELD(chook_point_info, state);
    FIELD(chook_point_info, size);

    STRUCT(chook_pattern_match);
    FIELD(chook_pattern_match, symbol);
    FIELD(chook_pattern_match, base_len);
    FIELD(chook_pattern_match, data);
    FIELD(chook_pattern_match, listener);
    FIELD(chook_pattern_match, status);
    FIELD(chook_pattern_match, reason);
    FIELD(chook_pattern_match, size);

    print_mock_structs();

    /* The record CHOOK_POINT defines in the instrumented module (versioned by
     * CHOOK_POINT_ABI, which chook checks on every point it finds). */
    STRUCT(struct chook_point);
    FIELD(struct chook_point, chook__attached);
    FIELD(struct chook_point, chook__abi);
    FIELD(struct chook_point, chook__nargs);
    FIELD(struct chook_point, chook__void);
    FIELD(struct chook_point, chook__name);
    FIELD(struct chook_point, chook__signature);
    FIELD(struct chook_point, chook__file);
    FIELD(struct chook_point, chook__line);
    FIELD(struct chook_point, chook__epoch);
    FIELD(struct chook_point, chook__inflight);
    FIELD(struct chook_point, chook__types);
    STRUCT(struct chook_point_attachment);
    FIELD(struct chook_point_attachment, kind);
    FIELD(struct chook_point_attachment, prolog);
    FIELD(struct chook_point_attachment, data);
    FIELD(struct chook_point_attachment, enter);
    FIELD(struct chook_point_attachment, leave);
    FIELD(struct chook_point_attachment, on_enter);
    FIELD(struct chook_point_attachment, on_leave);
    FIELD(struct chook_point_attachment, point);
    STRUCT(struct chook_point_frame);
    FIELD(struct chook_point_frame, att);
    FIELD(struct chook_point_frame, call);
    FIELD(struct chook_point_frame, slot);
    FIELD(struct chook_point_frame, space_size);
    FIELD(struct chook_point_frame, space);
    STRUCT(struct chook_point_type);

    STRUCT(chook_mock_opts);
    FIELD(chook_mock_opts, flags);
    FIELD(chook_mock_opts, data);
    FIELD(chook_mock_opts, capture);
    FIELD(chook_mock_opts, size);

    STRUCT(chook_mock_step);
    FIELD(chook_mock_step, value);
    FIELD(chook_mock_step, error);
    FIELD(chook_mock_step, times);
    return 0;
}
