/* A small shared object for dl_oracle: a constant and a counter. */
static int counter;

/* the project builds with -fvisibility=hidden */
__attribute__((visibility("default"))) int vadshim_dl_answer(void);
__attribute__((visibility("default"))) int vadshim_dl_count(void);

int vadshim_dl_answer(void)
{
	return 42;
}

int vadshim_dl_count(void)
{
	return ++counter;
}
