#ifndef SHAPES_H
#define SHAPES_H
double shape_angle_sum(int sides);
int shape_count(void);
const char *shape_name(int i);
int shape_sides(int i);
#endif
