#!/bin/sh
# embed.sh: turn the files of the browser page (daemon/www/) into C arrays
# www_NAME[] with www_NAME_len, so roomd serves them from its own binary.
for f in "$@"; do
	name=$(basename "$f" | tr -c 'A-Za-z0-9_\n' '_')
	printf 'const char www_%s[] =\n' "$name"
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$/\\n"/' "$f"
	printf ';\nconst unsigned long www_%s_len = sizeof www_%s - 1;\n' \
	    "$name" "$name"
done
