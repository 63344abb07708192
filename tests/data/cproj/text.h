#ifndef TEXT_H
#define TEXT_H
#include <stddef.h>
void text_upper(char *dst, const char *src, size_t n);
#endif
