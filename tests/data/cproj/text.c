#include "text.h"
#include <ctype.h>

void text_upper(char *dst, const char *src, size_t n)
{
	size_t i = 0;
	for (; i + 1 < n && src[i]; i++)
		dst[i] = (char)toupper((unsigned char)src[i]);
	if (n)
		dst[i] = 0;
}
