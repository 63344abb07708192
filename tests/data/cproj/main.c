#include <math.h>
#include <stdio.h>
#include "gen.h"
#include "shapes.h"
#include "text.h"

int main(void)
{
	char up[64];
	for (int i = 0; i < shape_count(); i++) {
		text_upper(up, shape_name(i), sizeof(up));
		printf("%-10s %d sides, angles %.0f, sqrt %.3f\n", up, shape_sides(i),
		       shape_angle_sum(shape_sides(i)), sqrt((double)shape_sides(i)));
	}
	printf("%d shapes (table of %zu)\n", shape_count(), sizeof(shape_table) / sizeof(shape_table[0]));
	return 0;
}
