/*
 * fuzz_config.c: libFuzzer harness for roomd's config file parser
 * (daemon/config.c): the input is the file given to --config, read through
 * config_load exactly as at start, from a memfd so no file is written.
 * Every rejection must say why; every accepted file must give settings
 * inside the option table's ranges.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int fd = -1;
static char path[64];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	char *argv[] = { "roomd", "--config", path, NULL };
	char *cause = NULL;
	int rc;

	if (fd == -1) {
		/* ROOMD_* from the fuzzing shell must not mask the file. */
		clearenv();
		if ((fd = memfd_create("fuzz.conf", 0)) == -1)
			abort();
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) !=
	    (ssize_t)size)
		abort();

	rc = config_load(&cfg, 3, argv, &cause);
	if (rc == CONFIG_OK) {
		if (cfg.history < 1 || cfg.max_frame < 256 ||
		    cfg.listen_port < 0 || cfg.listen_port > 65535 ||
		    cfg.prefix == NULL || cause != NULL)
			abort();
		config_free(&cfg);
	} else if (rc != CONFIG_ERROR || cause == NULL)
		abort();	/* the file cannot print help or exit */
	free(cause);
	return 0;
}
