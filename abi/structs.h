/* Helpers of the layout program (structs.c, structs_mock.c). */
#include <stddef.h>
#include <stdio.h>

#define STRUCT(T) printf("%s %zu\n", #T, sizeof(T))
#define FIELD(T, f) printf("%s.%s %zu %zu\n", #T, #f, offsetof(T, f), sizeof(((T *)0)->f))

void print_mock_structs(void);
