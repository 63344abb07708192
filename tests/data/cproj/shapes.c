#include "shapes.h"
#include "gen.h"

double shape_angle_sum(int sides)
{
	return (sides - 2) * 180.0;
}

int shape_count(void)
{
	return N_SHAPES;
}

const char *shape_name(int i)
{
	return shape_table[i].name;
}

int shape_sides(int i)
{
	return shape_table[i].sides;
}
