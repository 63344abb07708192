#!/bin/sh
# gen.sh TABLE: a header with one entry per "name sides" line of TABLE.
echo "/* generated from $1 */"
echo "#define N_SHAPES $(grep -c . "$1")"
echo "static const struct { const char *name; int sides; } shape_table[] = {"
while read -r name sides; do
	[ -n "$name" ] && echo "	{ \"$name\", $sides },"
done < "$1"
echo "};"
