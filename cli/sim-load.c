/*
 * sim-load.c owns `roomctl sim` load mode: clients spread over --rooms
 * rooms publishing --rate events a second for --duration. Not built yet.
 */
#include "roomctl.h"

/*
 * Run load mode with o (script NULL; rooms, rate and duration_ms set).
 * Returns an exit status.
 */
int
sim_load(const struct sim_opts *o)
{
	(void)o;
	cmd_error("sim: load mode is not built yet");
	return EXIT_FAIL;
}
