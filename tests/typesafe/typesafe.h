/* The -Wpedantic example programs of test_typesafe (0 when every step passed, else
 * the number of the failing step). */
#ifdef __cplusplus
extern "C" {
#endif
int typesafe_c(void);
int typesafe_cpp(void);
#ifdef __cplusplus
}
#endif
